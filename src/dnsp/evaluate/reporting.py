"""Assemble the report of a reproduction: tables, paper comparison, statistics, figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnsp.acquisition import acquisition_from_config, default_acquisition
from dnsp.checkpoint_io import read_torch_file
from dnsp.errors import InputError
from dnsp.evaluate import figures as F
from dnsp.evaluate.experiments import Budget, Experiment
from dnsp.evaluate.paired import format_paired_table, paired_comparisons
from dnsp.evaluate.report import Report
from dnsp.evaluate.stats import one_way_anova, two_way_anova
from dnsp.methods.pretrained import default_model, resolve_model
from dnsp.yamlio import read_yaml

__all__ = ["NEGLIGIBLE_DB", "build_report", "conclusion", "gain_table", "summary_table"]

_GROUP = ["dataset", "scale", "fraction"]


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR/SSIM (whole slice and brain-masked) per method x dataset x scale x fraction."""
    keys = [*_GROUP, "method"]
    agg = results.groupby(keys, sort=False).agg(
        n=("psnr", "size"), psnr=("psnr", "mean"), ssim=("ssim", "mean"),
        psnr_brain=("psnr_brain", "mean"), ssim_brain=("ssim_brain", "mean"))
    return agg.reset_index()


def gain_table(results: pd.DataFrame, reference: str = "Bicubic") -> pd.DataFrame:
    """Mean per-image PSNR gain of each method over ``reference`` on the same slices."""
    if reference not in set(results["method"]):
        return pd.DataFrame()
    keys = ["dataset", "scale", "subject", "slice"]
    ref = results[results["method"] == reference].drop_duplicates(keys)[[*keys, "psnr", "ssim"]]
    merged = results.merge(ref, on=keys, suffixes=("", "_ref"))
    merged["psnr_gain"] = merged["psnr"] - merged["psnr_ref"]
    merged["ssim_gain"] = merged["ssim"] - merged["ssim_ref"]
    out = merged.groupby([*_GROUP, "method"], sort=False).agg(
        psnr_gain=("psnr_gain", "mean"), ssim_gain=("ssim_gain", "mean")).reset_index()
    return out[out["method"] != reference]


def _paper_table(paper: dict[str, Any]) -> pd.DataFrame | None:
    rows = paper.get("rows")
    cols = paper.get("columns")
    if not rows or not cols:
        return None
    return pd.DataFrame([{"method": k, **dict(zip(cols, v, strict=False))}
                         for k, v in rows.items()])


def _figures(exp: Experiment, results: pd.DataFrame, out: Path, rep: Report) -> None:
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    samples = out / "results" / "samples"
    hr_files = sorted(samples.glob("*-HR.npy"))
    hr0 = np.load(hr_files[0]) if hr_files else None
    if "fig2" in exp.figures and hr0 is not None:
        rep.add_figure(F.fig2_rank_psnr(hr0, figdir / "fig2_rank_psnr.png"),
                       "Fig. 2: PSNR of truncated-SVD reconstructions of a test slice vs rank.")
    if "fig3" in exp.figures and hr0 is not None:
        rep.add_figure(F.fig3_laplacian_variance(hr0, figdir / "fig3_laplacian_variance.png"),
                       "Fig. 3: variance of the Laplacian vs Gaussian blur.")
    if "visual" in exp.figures:
        for hr_path in hr_files:
            tag = hr_path.name[: -len("-HR.npy")]
            ds, scale = tag.rsplit("-x", 1)
            sub = results[(results["dataset"] == ds)]
            frac = sub["fraction"].max() if len(sub) else 1.0
            ftag = f"{tag}-f{round(100 * frac)}"
            means = sub[sub["fraction"] == frac].groupby("method")["psnr"].mean()
            top = list(means.sort_values(ascending=False).index[:4])
            outs = {m: np.load(samples / f"{ftag}-{m}.npy") for m in top
                    if (samples / f"{ftag}-{m}.npy").is_file()}
            lr_path = samples / f"{tag}-LR.npy"
            lr = np.load(lr_path) if lr_path.is_file() else None
            if outs:
                rep.add_figure(
                    F.fig_visual_comparison(outs, np.load(hr_path),
                                            figdir / f"visual_{tag}.png",
                                            title=f"{ds} x{scale}", lr=lr),
                    ("Figs. 11-14 style: " + ("the low-resolution input (nearest), " if lr
                                              is not None else "")
                     + f"the HR reference and the top methods by mean PSNR on {ds} "
                     f"x{scale}; labels are PSNR/SSIM of the slice."))
    runs = out / "runs"
    if "fig9" in exp.figures and runs.is_dir():
        for tagdir in sorted(p for p in runs.iterdir() if p.is_dir()):
            logs = {d.name: d / "metrics.csv" for d in sorted(tagdir.iterdir())
                    if (d / "metrics.csv").is_file()}
            if logs:
                rep.add_figure(F.fig9_validation_curves(logs, figdir / f"fig9_{tagdir.name}.png"),
                               f"Fig. 9: validation PSNR/SSIM per epoch ({tagdir.name}).")
    if "fig8" in exp.figures and runs.is_dir() and hr0 is not None:
        for ck in sorted(runs.glob("*/*/best.pt"))[:2]:
            state = read_torch_file(ck, what="checkpoint")
            w = state.get("loss", {}).get("sharpness_filters.weight")
            if w is not None:
                rep.add_figure(F.fig8_learned_filters(w, hr0, figdir / f"fig8_{ck.parent.name}_"
                                                      f"{ck.parent.parent.name}.png"),
                               f"Fig. 8: learned sharpness filters of {ck.parent.name} "
                               f"({ck.parent.parent.name}) and their responses vs the Laplacian.")
    if "fig15" in exp.figures and results["fraction"].nunique() > 1:
        rep.add_figure(F.fig15_training_fraction(results, figdir / "fig15_fraction.png"),
                       "Fig. 15: mean PSNR vs fraction of training images (95% CI).")


#: Mean PSNR differences below this (dB) are called negligible in a conclusion: the change
#: that the training seed alone makes (0.04-0.30 dB, README "Whether they help").
NEGLIGIBLE_DB = 0.05


def conclusion(paired: pd.DataFrame) -> str:
    """The sentence stating what the first comparison of an experiment found.

    ``paired`` is a :func:`dnsp.evaluate.paired.paired_comparisons` table; its first row (the
    experiment's first ``compare`` pair, first group) is worded: the mean difference, its
    95 % interval, the Holm-corrected paired t p-value, whether that is significant at the
    5 % level and whether the difference is below :data:`NEGLIGIBLE_DB`.
    """
    if not len(paired):
        return "**Conclusion:** no pair of methods was evaluated on the same slices."
    row = paired.iloc[0]
    a, b, d = str(row["method_a"]), str(row["method_b"]), float(row["mean_diff"])
    p = float(row["p_t_holm"])
    where = ", ".join(f"{k} {row[k]}" for k in _GROUP if k in paired.columns)
    signif = ("significant at the 5 % level" if p < 0.05 else "not significant at the 5 % level")
    size = (f"below {NEGLIGIBLE_DB:g} dB, smaller than what the training seed alone changes"
            if abs(d) < NEGLIGIBLE_DB else
            f"{'in favour of ' + a if d > 0 else 'in favour of ' + b}")
    ptxt = "n/a" if not np.isfinite(p) else (f"{p:.2g}" if p >= 0.001 else f"{p:.1e}")
    return (f"**Conclusion:** {a} - {b} = {d:+.2f} dB PSNR ({where}; 95 % CI "
            f"{float(row['ci_low']):+.2f} to {float(row['ci_high']):+.2f} dB over "
            f"{int(row['n'])} slices; paired t-test p = {ptxt}, Holm): {signif}; the difference "
            f"is {size}.")


def _pretrained_notes(exp: Experiment, results: pd.DataFrame) -> list[str]:
    """Which shipped model each ``pretrained`` method is, and why it may score below the
    networks trained in the run (other data, another degradation)."""
    notes = []
    trained = [m.name for m in exp.methods if m.kind == "train"]
    for m in exp.methods:
        if m.kind != "pretrained" or m.name not in set(results["method"]):
            continue
        for scale in sorted(set(results.loc[results["method"] == m.name, "scale"])):
            try:
                name = default_model(int(scale)) if m.pretrained == "default" else m.pretrained
                info = resolve_model(str(name))
            except InputError:
                continue
            acq = info.meta.get("acquisition")
            made_for = (acquisition_from_config(acq).describe() if isinstance(acq, dict)
                        else default_acquisition(info.scale).describe())
            at = results[results["scale"] == scale].groupby("method")["psnr"].mean()
            better = [t for t in trained if t in at.index and at[t] > at[m.name]]
            why = (f" {', '.join(better)} scored above it: trained in this run on this data "
                   "set's own training slices with this run's degradation, the very "
                   "degradation of the test slices, a short training has the advantage of "
                   "matching them." if better else "")
            notes.append(
                f"**{m.name}** (x{scale}) is the shipped model `{info.name}` "
                f"(`dnsp upscale --list-models`), trained beforehand on other heads for the "
                f"acquisition `{made_for}`; it is scored as shipped.{why}")
    return notes


def _statistics(exp: Experiment, results: pd.DataFrame, out: Path, rep: Report) -> None:
    rep.add_heading("Statistics")
    if exp.compare:
        pairs = [(a, b) for a, b in exp.compare
                 if a in set(results["method"]) and b in set(results["method"])]
        if pairs:
            paired = paired_comparisons(results, pairs=pairs, by=_GROUP)
            rep.add_paragraph(conclusion(paired))
            rep.add_table(format_paired_table(paired),
                          "Paired comparisons on the same slices (PSNR, dB): mean difference "
                          "with 95% CI, Cohen's d_z, paired t and Wilcoxon p-values (Holm).")
    methods = results["method"].nunique()
    for (scale, frac), g in results.groupby(["scale", "fraction"]):
        if methods < 2 or g["method"].nunique() < 2:
            continue
        try:
            if g["dataset"].nunique() >= 2:
                res = two_way_anova(g, "psnr", ("method", "dataset"))
                kind = "two-way (method x dataset)"
            else:
                res = one_way_anova(g, "psnr", "method")
                kind = "one-way (method)"
        except ValueError as exc:
            rep.add_paragraph(f"ANOVA x{scale}, fraction {frac}: not computed ({exc}).")
            continue
        rep.add_paragraph(f"ANOVA {kind}, x{scale}, fraction {frac:g}: {res.describe()}")
        if "anova" in exp.figures:
            name = f"anova_x{scale}_f{round(100 * frac)}.png"
            rep.add_figure(F.anova_interval_plot(res, out / "figures" / name),
                           f"ANOVA intervals (95% CI of mean PSNR per cell), x{scale}.")


def build_report(exp: Experiment, budget_name: str, budget: Budget, results: pd.DataFrame,
                 out: Path, skipped: list[str]) -> Report:
    """Build (not write) the report of a reproduction run."""
    (out / "figures").mkdir(parents=True, exist_ok=True)
    rep = Report(f"{exp.title}, budget {budget_name}")
    if exp.description:
        rep.add_paragraph(exp.description)
    notes = [f"Budget `{budget_name}`: {budget.note}" if budget.note else
             f"Budget `{budget_name}`."]
    if skipped:
        notes.append("Skipped: " + "; ".join(skipped) + ".")
    notes.append("Every number below was measured in this run; per-slice values are in "
                 "`results/per_slice.csv`. PSNR/SSIM use data range 1 on the [0, 1]-scaled HR "
                 "(99.9th percentile), whole slice; `*_brain` inside the head mask.")
    rep.add_paragraph(" ".join(notes))
    rep.add_heading("Measured results")
    rep.add_table(summary_table(results), "Mean per-slice metrics.")
    for note in _pretrained_notes(exp, results):
        rep.add_paragraph(note)
    gains = gain_table(results)
    if len(gains):
        rep.add_table(gains, "Mean PSNR/SSIM gain over bicubic on the same slices.")
    paper = _paper_table(exp.paper)
    if paper is not None:
        rep.add_heading("The paper's numbers")
        if exp.paper.get("note"):
            rep.add_paragraph(str(exp.paper["note"]))
        rep.add_table(paper, exp.paper.get("caption", "As published (PSNR dB / SSIM)."))
    _statistics(exp, results, out, rep)
    rep.add_heading("Figures")
    _figures(exp, results, out, rep)
    rep.add_environment()
    rep.add_heading("Appendix: configurations")
    rep.add_paragraph("The experiment definition and the configuration of each training run "
                      "(collapsed; click to open).")
    rep.add_config(f"experiment {exp.name}", Path(exp.path).read_text(encoding="utf-8")
                   if exp.path else "")
    for cfg in sorted((out / "runs").glob("*/*/config.yml"))[:12]:
        rep.add_config(f"training run {cfg.parent.parent.name}/{cfg.parent.name}",
                       read_yaml(cfg))
    return rep
