"""Statistics, figures and report of the priors-strength study (:mod:`.priors_strength`).

The paired machinery of the priors study (:mod:`dnsp.evaluate.priors_study_stats`) is reused
with one cell per condition x variant x level: a run table is mapped to the study's columns
(``dataset`` := condition, ``variant`` := ``"<variant>@<level>"``, NP stays ``"NP"``), so that
:func:`~dnsp.evaluate.priors_study_stats.paired_differences`,
:func:`~dnsp.evaluate.priors_study_stats.seed_intervals` and
:func:`~dnsp.evaluate.priors_study_stats.mixed_model` apply unchanged.

Measures (variant - NP of the same seed, 95 % t interval across seeds): PSNR and SSIM (dB and
index, higher is better), HFEN (lower is better), the outputs' Laplacian variance (in % of
NP's: sharper is higher) and smoothed rank (difference).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnsp.evaluate.experiments import Experiment
from dnsp.evaluate.figures._common import new_figure, save_png
from dnsp.evaluate.priors_study_stats import mixed_model, paired_differences, seed_intervals
from dnsp.evaluate.report import Report
from dnsp.losses import variant_weights

__all__ = ["LEVEL_ABOVE", "LEVEL_PAPER", "MEASURES", "best_levels", "crop_figure",
           "level_name", "strength_figure", "strength_intervals", "verdict",
           "write_strength_report"]

#: The paper's weights, and the one run just above beta_c.
LEVEL_PAPER = "paper"
LEVEL_ABOVE = "above-beta_c"
#: (column of runs.csv, label, higher is better); ``log_lapvar`` is log(lapvar_out).
MEASURES: tuple[tuple[str, str, bool], ...] = (
    ("psnr", "PSNR (dB)", True), ("ssim", "SSIM", True), ("hfen", "HFEN", False),
    ("log_lapvar", "Laplacian variance (% of NP)", True),
    ("rank_out", "smoothed rank", False),
)


def level_name(ratio: float) -> str:
    """Name of a nominal gradient ratio: 0.05 -> ``"r5"`` (per cent)."""
    return f"r{100 * ratio:g}"


def _as_study(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with the study's cell columns: dataset = condition, variant = variant@level."""
    df = runs.copy()
    df["dataset"] = df["condition"]
    df["variant"] = [v if v == "NP" else f"{v}@{lv}"
                     for v, lv in zip(df["variant"], df["level"], strict=True)]
    return df


def strength_intervals(runs: pd.DataFrame, value: str = "psnr") -> pd.DataFrame:
    """Variant - NP of ``value`` per condition, variant and level (95 % t interval across
    seeds), with the cell's mean measured gradient ratio.

    Args:
        runs: Finished runs (``status == "ok"``), columns of ``runs.csv``.
        value: A column of ``runs.csv`` or ``log_lapvar``.

    Returns:
        Columns condition, variant, level, n, mean, sd, ci_low, ci_high, half_width, cohen_d,
        p, grad_ratio (mean over the cell's seeds), nominal.
    """
    cols = ["condition", "variant", "level", "n", "mean", "sd", "ci_low", "ci_high",
            "half_width", "cohen_d", "p", "grad_ratio", "nominal"]
    if not len(runs):
        return pd.DataFrame(columns=cols)
    df = _as_study(runs)
    if value == "log_lapvar":
        df["log_lapvar"] = np.log(df["lapvar_out"].astype(float))
    diffs = paired_differences(df, value)
    if not len(diffs):
        return pd.DataFrame(columns=cols)
    iv = seed_intervals(diffs)
    iv["condition"] = iv["dataset"]
    iv["level"] = [v.split("@", 1)[1] for v in iv["variant"]]
    iv["variant"] = [v.split("@", 1)[0] for v in iv["variant"]]
    g = runs[runs["variant"] != "NP"].groupby(["condition", "variant", "level"]).agg(
        grad_ratio=("grad_ratio", "mean"), nominal=("nominal", "first")).reset_index()
    return iv.merge(g, on=["condition", "variant", "level"], how="left")[cols]


def best_levels(runs: pd.DataFrame) -> dict[str, str]:
    """Per variant, the level with the highest mean PSNR - NP (runs of one condition);
    only variants whose every planned level has a paired difference are decided."""
    iv = strength_intervals(runs, "psnr")
    if not len(iv):
        return {}
    out: dict[str, str] = {}
    for v, g in iv[iv["level"] != LEVEL_ABOVE].groupby("variant"):
        out[str(v)] = str(g.loc[g["mean"].idxmax(), "level"])
    return out


def verdict(ivals: dict[str, pd.DataFrame]) -> tuple[list[str], list[str]]:
    """Cells where a prior beats NP beyond its interval, and where it loses (PSNR or HFEN).

    Returns:
        (wins, losses) as sentences ``"<variant> at <level> (<condition>): PSNR +x dB
        [lo, hi]"``.
    """
    wins: list[str] = []
    losses: list[str] = []
    for value, better_high in (("psnr", True), ("hfen", False)):
        iv = ivals.get(value)
        if iv is None or not len(iv):
            continue
        for _, r in iv[iv["level"] != LEVEL_ABOVE].iterrows():
            if not (math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])):
                continue
            text = (f"{r['variant']} at {r['level']} ({r['condition']}): {value.upper()} "
                    f"{r['mean']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]")
            good = r["ci_low"] > 0 if better_high else r["ci_high"] < 0
            bad = r["ci_high"] < 0 if better_high else r["ci_low"] > 0
            (wins if good else losses if bad else []).append(text)
    return wins, losses


def _show(value: str, iv: pd.DataFrame) -> pd.DataFrame:
    """Intervals in the plotted unit (log Laplacian variance as % of NP)."""
    if value != "log_lapvar":
        return iv
    iv = iv.copy()
    for c in ("mean", "ci_low", "ci_high"):
        iv[c] = 100 * (np.exp(iv[c].astype(float)) - 1)
    return iv


def strength_figure(ivals: dict[str, pd.DataFrame], condition: str, path: str | Path) -> Path:
    """Variant - NP against the measured gradient ratio, one panel per measure, one line per
    variant, error bars the 95 % interval across seeds (one condition)."""
    fig = new_figure(3.6 * len(MEASURES), 3.4)
    axes = fig.subplots(1, len(MEASURES), squeeze=False)[0]
    for ax, (value, label, high) in zip(axes, MEASURES, strict=True):
        iv = _show(value, ivals.get(value, pd.DataFrame()))
        if len(iv):
            iv = iv[(iv["condition"] == condition) & (iv["level"] != LEVEL_ABOVE)]
        for v, g in (iv.groupby("variant") if len(iv) else []):
            g = g.sort_values("grad_ratio")
            err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
            ax.errorbar(100 * g["grad_ratio"], g["mean"], yerr=np.nan_to_num(err),
                        marker="o", capsize=3, label=str(v))
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("measured strength: ||grad prior|| / ||grad rec|| (%)")
        ax.set_ylabel(f"{label}: variant - NP" + ("" if high else " (lower is better)"))
        ax.set_title(label, fontsize=10)
        if len(iv):
            ax.legend(fontsize=8)
    return save_png(fig, path)


def crop_figure(crops: Path, runs: pd.DataFrame, levels: list[str], path: str | Path,
                box: int = 64) -> Path | None:
    """HR, NP and each variant at ``levels`` (seed 0, primary condition), zoomed on the
    central ``box`` x ``box`` pixels of one test slice; None when the crops are missing."""
    hr_path = crops / "HR.npy"
    ok = runs[(runs["status"] == "ok") & (runs["seed"] == 0) & (runs["condition"] == "full")]
    np_run = ok[ok["variant"] == "NP"]
    if not hr_path.is_file() or not len(np_run):
        return None
    hr = np.load(hr_path)
    i0, j0 = max(0, hr.shape[0] // 2 - box // 2), max(0, hr.shape[1] // 2 - box // 2)

    def zoom(a: np.ndarray) -> np.ndarray:
        return a[i0:i0 + box, j0:j0 + box]

    variants = [v for v in ("LR", "FS", "AP", "LS") if v in set(ok["variant"])]
    cols = ["HR", "NP", *levels]
    fig = new_figure(2.0 * len(cols), 2.1 * max(len(variants), 1))
    axes = fig.subplots(max(len(variants), 1), len(cols), squeeze=False)
    for i, v in enumerate(variants or ["NP"]):
        for j, col in enumerate(cols):
            ax = axes[i, j]
            ax.set_axis_off()
            if col == "HR":
                img, title = hr, "HR"
            else:
                sel = np_run if col == "NP" else ok[(ok["variant"] == v) & (ok["level"] == col)]
                f = crops / f"{sel['run'].iloc[0]}.npy" if len(sel) else None
                if f is None or not f.is_file():
                    continue
                img = np.load(f)
                title = "NP" if col == "NP" else f"{v} {col[1:]} %"
            ax.imshow(zoom(img), cmap="gray", vmin=0, vmax=float(zoom(hr).max()) or 1.0,
                      interpolation="nearest")
            ax.set_title(title, fontsize=9)
    return save_png(fig, path)


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if col in ("mean", "ci_low", "ci_high", "estimate"):
            out[col] = [("" if pd.isna(v) else f"{v:+.4f}") for v in out[col]]
        elif col in ("sd", "half_width", "cohen_d", "p", "se", "grad_ratio", "nominal",
                     "pilot_ratio", "multiplier", "alpha", "beta", "beta_c"):
            out[col] = [("" if pd.isna(v) else f"{v:.3g}") for v in out[col]]
    return out


def calibration_table(calib: dict[str, Any], runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant and level: nominal ratio, factor, weights, beta_c, pilot ratio, the
    measured median ratio of the primary runs (mean over seeds) and whether it is within a
    factor 2 of the nominal."""
    rows = []
    prim = runs[(runs["condition"] == "full") & (runs["variant"] != "NP")]
    for v, c in calib.items():
        for lev, d in c.get("levels", {}).items():
            got = prim[(prim["variant"] == v) & (prim["level"] == lev)]["grad_ratio"]
            meas = float(got.mean()) if len(got) else math.nan
            rows.append({"variant": v, "level": lev, "nominal": d["nominal"],
                         "multiplier": d["multiplier"],
                         "alpha": d["alpha"] if "alpha" in variant_weights(v) else math.nan,
                         "beta": d["beta"] if "beta" in variant_weights(v) else math.nan,
                         "beta_c": c.get("beta_c"),
                         "capped": d.get("capped", False), "pilot_ratio": d["pilot_ratio"],
                         "measured": meas, "runs": len(got),
                         "within_2x": (bool(0.5 <= meas / d["nominal"] <= 2.0)
                                       if math.isfinite(meas) else None)})
    return pd.DataFrame(rows)


def write_strength_report(exp: Experiment, budget_name: str, runs: pd.DataFrame,
                          slices: pd.DataFrame, calib: dict[str, Any], out: Path,
                          n_planned: int, skipped: list[str]) -> tuple[Path, Path]:
    """Write the tables (CSV), figures (PNG) and ``report.md``/``report.html`` to ``out``."""
    rep = Report(exp.title)
    budget = exp.budget(budget_name)
    res = out / "results"
    rep.add_paragraph(f"{exp.description}\n\nBudget **{budget_name}**: {budget.note.strip()}"
                      f"\n\nFinished runs: **{len(runs)} of {n_planned}** planned so far."
                      + (f" Skipped: {', '.join(skipped)}." if skipped else ""))
    if not len(runs):
        rep.add_config("experiment", exp.path)
        return rep.write(out)
    runs = runs.copy()
    runs["status"] = runs["status"].fillna("ok")
    ok = runs[runs["status"] == "ok"]
    ivals = {value: strength_intervals(ok, value) for value, _, _ in MEASURES}
    for value, iv in ivals.items():
        iv.to_csv(res / f"intervals_{value}.csv", index=False)
    cal = calibration_table(calib, runs)
    cal.to_csv(res / "calibration.csv", index=False)
    rep.add_heading("Verdict")
    wins, losses = verdict(ivals)
    rep.add_paragraph(
        ("**A prior beats NP beyond its 95 % interval** in: " + "; ".join(wins) + "."
         if wins else "**No prior at any strength beats NP beyond its 95 % interval** on "
                      "PSNR or HFEN in the finished cells.")
        + ("\n\nWorse than NP beyond the interval: " + "; ".join(losses) + "."
           if losses else ""))
    rep.add_heading("Calibration: weight factor per level")
    rep.add_paragraph("Nominal: the wanted median ||grad priors|| / ||grad reconstruction||; "
                      "pilot: the pilot training's ratio at the chosen factor; measured: the "
                      "median over training of the primary runs (mean over seeds). capped: "
                      "beta would pass the margin below beta_c.")
    if len(cal):
        rep.add_table(_fmt(cal))
    above = runs[runs["level"] == LEVEL_ABOVE]
    if len(above):
        a = above.iloc[0]
        rep.add_paragraph(f"Above beta_c: {a['variant']} with beta = {a['beta']:.4g} "
                          f"({a['beta'] / a['beta_c']:.2f} x beta_c = {a['beta_c']:.4g}), "
                          f"seed {a['seed']}: status {a['status']}"
                          + (f", PSNR {a['psnr']:.3f} dB, Laplacian variance of the outputs "
                             f"{a['lapvar_out']:.4g} (HR {a['lapvar_hr']:.4g})"
                             if a["status"] == "ok" else "") + ".")
    for cond in runs["condition"].drop_duplicates():
        rep.add_heading(f"Variant - NP by strength: condition {cond}")
        fig = strength_figure(ivals, cond, out / f"priors_strength_{cond}.png")
        rep.add_figure(fig, caption=f"Variant - NP against the measured strength ({cond}); "
                                    "error bars: 95 % t interval across seeds")
        for value, label, high in MEASURES:
            iv = _show(value, ivals[value])
            iv = iv[iv["condition"] == cond].drop(columns=["condition"])
            if len(iv):
                rep.add_table(_fmt(iv), caption=f"{label}: variant - NP"
                              + ("" if high else " (lower is better)"))
    rep.add_heading("Mixed-effects models")
    meta = _as_study(ok).set_index("run")[["dataset", "degradation", "capacity", "params",
                                           "variant", "seed", "condition"]]
    sub_all = slices[["run", "subject", "psnr", "hfen"]].join(meta, on="run")
    groups = [(f"condition {c}", sub_all[sub_all["condition"] == c])
              for c in runs["condition"].drop_duplicates()]
    if runs["condition"].nunique() > 1:  # the cells every condition has, condition a factor
        groups.append(("across conditions", sub_all.assign(degradation=sub_all["condition"])))
    for value in ("psnr", "hfen"):
        for label, sub in groups:
            if not len(sub):
                continue
            contrasts, text = mixed_model(sub, "NP", value=value)
            rep.add_paragraph(f"**{value.upper()}, {label}.** {text}")
            if len(contrasts):
                tag = label.replace(" ", "_")
                contrasts.to_csv(res / f"mixed_{value}_{tag}.csv", index=False)
                rep.add_table(_fmt(contrasts.drop(columns=["capacity", "params"])))
    crop = crop_figure(res / "crops", runs, [c for c in ("r5", "r20", "r50")
                                             if c in set(runs["level"])],
                       out / "priors_strength_crops.png")
    if crop is not None:
        rep.add_heading("What 'sharper' looks like")
        rep.add_figure(crop, caption="Central 64 x 64 pixels of one test slice: HR, NP and "
                                     "each prior at 5, 20 and 50 % strength (seed 0)")
    rep.add_config("experiment", exp.path)
    return rep.write(out)
