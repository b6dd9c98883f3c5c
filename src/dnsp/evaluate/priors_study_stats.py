"""Statistics, figure and report of the priors study (:mod:`dnsp.evaluate.priors_study`).

* :func:`paired_differences`: variant - NP per seed (same initial weights and batch order);
* :func:`seed_intervals`: their mean, a 95 % t interval across seeds, Cohen's d of the paired
  differences (d_z = mean / sd) and the one-sample t-test p;
* :func:`mixed_model`: ``psnr ~ variant * capacity * degradation`` (statsmodels MixedLM) on
  per-run, per-subject mean PSNR with crossed random intercepts for the subject, for the seed
  (one level per seed x capacity x degradation: the runs that share initial weights) and for
  seed x subject (that network on that head, shared by the variants of one seed, so that the
  model keeps the pairing) and for the run (seed x variant: run-to-run spread of a difference),
  and the variant - NP contrast of every capacity x degradation cell
  with its 95 % interval;
* :func:`prior_effects`: what the priors change: the median gradient-norm ratio and the
  smoothed rank / Laplacian variance of output patches against HR and NP;
* :func:`study_figure` and :func:`write_study_report`.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import patsy
import statsmodels.formula.api as smf
from scipy import stats

from dnsp.evaluate.experiments import Experiment
from dnsp.evaluate.figures._common import new_figure, save_png
from dnsp.evaluate.report import Report

__all__ = ["mixed_model", "paired_differences", "prior_effects", "seed_intervals",
           "study_figure", "write_study_report"]

_CELL = ["dataset", "degradation", "capacity"]


def paired_differences(runs: pd.DataFrame, value: str = "psnr", reference: str = "NP"
                       ) -> pd.DataFrame:
    """``value`` of each variant minus that of ``reference`` with the same cell and seed.

    Args:
        runs: One row per run (columns dataset, degradation, capacity, params, variant, seed
            and ``value``).
        value: The compared column.
        reference: The reference variant.

    Returns:
        Columns dataset, degradation, capacity, params, variant, seed, ``diff``; runs without
        their reference partner are left out.
    """
    keys = [*_CELL, "seed"]
    ref = runs[runs["variant"] == reference][[*keys, value]].rename(columns={value: "_ref"})
    other = runs[runs["variant"] != reference]
    m = other.merge(ref, on=keys, how="inner")
    m["diff"] = m[value].astype(float) - m["_ref"].astype(float)
    return m[[*_CELL, "params", "variant", "seed", "diff"]].reset_index(drop=True)


def seed_intervals(diffs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean paired difference per cell and variant, with its t interval across seeds.

    Returns:
        Columns dataset, degradation, capacity, params, variant, n (seeds), mean, sd, ci_low,
        ci_high, half_width, cohen_d (mean / sd of the paired differences), p (two-sided
        one-sample t-test of mean = 0). With one seed, sd/interval/d/p are NaN.
    """
    rows = []
    for key, g in diffs.groupby([*_CELL, "variant"], sort=False):
        d = g["diff"].to_numpy(float)
        n, mean = len(d), float(d.mean())
        sd = float(d.std(ddof=1)) if n > 1 else math.nan
        half = (float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
                if n > 1 else math.nan)
        if n > 1 and sd > 0:
            p = float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
        else:
            p = math.nan
        rows.append({**dict(zip([*_CELL, "variant"], key, strict=True)),
                     "params": int(g["params"].iloc[0]), "n": n, "mean": mean, "sd": sd,
                     "ci_low": mean - half, "ci_high": mean + half, "half_width": half,
                     "cohen_d": mean / sd if n > 1 and sd > 0 else math.nan, "p": p})
    return pd.DataFrame(rows)


def _complete(df: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Rows of the variants and capacities that fill every variant x capacity x degradation
    cell (a partial study's full-factorial part)."""
    degs = df["degradation"].unique()
    caps = sorted(df["capacity"].unique(), key=lambda c: df.loc[df["capacity"] == c,
                                                                "params"].iloc[0])
    have = set(map(tuple, df[["variant", "capacity", "degradation"]].drop_duplicates().values))
    variants = [v for v in df["variant"].unique()
                if all((v, caps[0], d) in have for d in degs)]
    keep_caps = [c for c in caps if all((v, c, d) in have for v in variants for d in degs)]
    if reference not in variants:
        return df.iloc[:0]
    return df[df["variant"].isin(variants) & df["capacity"].isin(keep_caps)]


def mixed_model(slices: pd.DataFrame, reference: str = "NP", level: float = 0.95,
                value: str = "psnr") -> tuple[pd.DataFrame, str]:
    """Fit ``psnr ~ variant * capacity * degradation`` with random subject, seed, seed x subject.

    Args:
        slices: Per-slice rows with run, dataset, degradation, capacity, params, variant,
            seed, subject, psnr.
        reference: Treatment reference of the variant factor.
        level: Confidence level of the contrasts (normal quantile, as statsmodels reports).
        value: The modelled per-slice column (``psnr``; ``hfen`` or another measure).

    Returns:
        (contrasts: one row per capacity x degradation x variant with estimate, se, ci_low,
        ci_high, p; a one-paragraph description of the fit). An empty table and the reason
        when the data cannot support the model (fewer than two variants or seeds).
    """
    df = slices.groupby(["run", *_CELL, "params", "variant", "seed", "subject"],
                        as_index=False)[value].mean()
    df = _complete(df, reference)
    if df["variant"].nunique() < 2 or df["seed"].nunique() < 2:
        return pd.DataFrame(), ("not fitted: it needs at least two variants, one of them "
                                f"{reference}, in complete cells and at least two seeds")
    factors = [f for f in ("variant", "capacity", "degradation") if df[f].nunique() > 1]
    rhs = " * ".join(f"C(variant, Treatment({reference!r}))" if f == "variant" else f"C({f})"
                     for f in factors)
    init = df["degradation"] + "|" + df["capacity"] + "|" + df["seed"].astype(str)
    df = df.assign(one=1, init=init, init_subject=init + "|" + df["subject"])
    vc = {"seed": "0 + C(init)", "run": "0 + C(run)"}  # run = seed x variant
    if df["subject"].nunique() > 1:  # the seed's network on one subject is shared by variants
        vc.update({"subject": "0 + C(subject)", "seed:subject": "0 + C(init_subject)"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = smf.mixedlm(f"{value} ~ {rhs}", df, groups="one", re_formula="0", vc_formula=vc)
        fit = model.fit(reml=True, method=["powell", "lbfgs"])  # lbfgs alone stalls here
    cells = df.drop_duplicates(["variant", "capacity", "degradation"])
    x = patsy.dmatrix(rhs, cells, return_type="dataframe")
    x.index = pd.MultiIndex.from_frame(cells[["variant", "capacity", "degradation"]])
    k = len(fit.fe_params)
    beta, cov = fit.fe_params.to_numpy(), fit.cov_params().to_numpy()[:k, :k]
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for (v, c, d), xr in x.iterrows():
        if v == reference:
            continue
        lvec = xr.to_numpy() - x.loc[(reference, c, d)].to_numpy()
        est, se = float(lvec @ beta), float(math.sqrt(max(lvec @ cov @ lvec, 0.0)))
        rows.append({"degradation": d, "capacity": c,
                     "params": int(cells.loc[(cells["capacity"] == c)
                                             & (cells["degradation"] == d), "params"].iloc[0]),
                     "variant": v, "estimate": est, "se": se, "ci_low": est - z * se,
                     "ci_high": est + z * se,
                     "p": float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else math.nan})
    names = list(vc)
    vcomp = dict(zip(model.exog_vc.names, np.atleast_1d(fit.vcomp), strict=False))
    issues = sorted({str(w.message).split(".")[0] for w in caught})
    unit = " dB^2" if value.startswith("psnr") else ""
    text = (f"MixedLM (REML) `{value} ~ {rhs}` on {len(df)} per-run, per-subject means "
            f"({df['run'].nunique()} runs, {df['subject'].nunique()} subjects); random "
            f"intercepts: " + ", ".join(f"{n} (variance {vcomp.get(n, math.nan):.3g}{unit})"
                                        for n in names)
            + f", residual variance {fit.scale:.3g}{unit}; converged: {fit.converged}"
            + (f"; warnings: {'; '.join(issues)}" if issues else "") + ".")
    return pd.DataFrame(rows), text


def prior_effects(runs: pd.DataFrame, reference: str = "NP") -> pd.DataFrame:
    """What the priors change, per cell and variant (means over seeds).

    Returns:
        Columns degradation, capacity, variant, n, grad_ratio (median over training of
        ||grad priors|| / ||grad reconstruction||, mean over seeds), rank_out, rank_hr,
        d_rank_np (output rank minus NP's, same seed), lapvar_rel_hr (output Laplacian
        variance / HR's), lapvar_rel_np (/ NP's, same seed).
    """
    keys = [*_CELL, "seed"]
    ref = runs[runs["variant"] == reference][[*keys, "rank_out", "lapvar_out"]]
    m = runs.merge(ref.rename(columns={"rank_out": "_r", "lapvar_out": "_l"}), on=keys,
                   how="left")
    m["d_rank_np"] = m["rank_out"] - m["_r"]
    m["lapvar_rel_hr"] = m["lapvar_out"] / m["lapvar_hr"]
    m["lapvar_rel_np"] = m["lapvar_out"] / m["_l"]
    out = m.groupby(["degradation", "capacity", "variant"], sort=False).agg(
        n=("seed", "size"), params=("params", "first"), grad_ratio=("grad_ratio", "mean"),
        rank_out=("rank_out", "mean"), rank_hr=("rank_hr", "mean"),
        d_rank_np=("d_rank_np", "mean"), lapvar_rel_hr=("lapvar_rel_hr", "mean"),
        lapvar_rel_np=("lapvar_rel_np", "mean")).reset_index()
    return out.sort_values(["degradation", "params", "variant"]).drop(columns="params")


def study_figure(intervals: pd.DataFrame, path: str | Path) -> Path:
    """Variant - NP PSNR against parameter count, one panel per variant, one line per
    degradation, error bars the t interval across seeds."""
    variants = [v for v in ("AP", "LR", "FS", "LS") if v in set(intervals["variant"])]
    variants += sorted(set(intervals["variant"]) - set(variants))
    fig = new_figure(4.2 * max(len(variants), 1), 3.4)
    axes = fig.subplots(1, max(len(variants), 1), squeeze=False)[0]
    for ax, v in zip(axes, variants, strict=False):
        for deg, g in intervals[intervals["variant"] == v].groupby("degradation", sort=True):
            g = g.sort_values("params")
            err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])
            ax.errorbar(g["params"], g["mean"], yerr=np.nan_to_num(err), marker="o",
                        capsize=3, label=str(deg))
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("network parameters")
        ax.set_ylabel(f"PSNR {v} - NP (dB)")
        ax.set_title(f"{v} - NP, 95 % interval across seeds")
        ax.legend(title="degradation", fontsize=8)
    return save_png(fig, path)


def _fmt(df: pd.DataFrame, digits: dict[str, int]) -> pd.DataFrame:
    out = df.copy()
    for col, d in digits.items():
        if col in out:
            out[col] = [("" if pd.isna(v) else f"{v:+.{d}f}" if col in ("mean", "estimate",
                         "ci_low", "ci_high", "d_rank_np") else f"{v:.{d}g}") for v in out[col]]
    return out


def write_study_report(exp: Experiment, budget_name: str, runs: pd.DataFrame,
                       slices: pd.DataFrame, out: Path, n_planned: int, skipped: list[str]
                       ) -> tuple[Path, Path]:
    """Write the tables (CSV), the figure (PNG) and ``report.md``/``report.html`` to ``out``."""
    rep = Report(exp.title)
    budget = exp.budget(budget_name)
    rep.add_paragraph(f"{exp.description}\n\nBudget **{budget_name}**: {budget.note.strip()}"
                      f"\n\nFinished runs: **{len(runs)} of {n_planned}**."
                      + (f" Skipped: {', '.join(skipped)}." if skipped else ""))
    res = out / "results"
    if len(runs):
        diffs = paired_differences(runs)
        ivals = seed_intervals(diffs) if len(diffs) else pd.DataFrame()
        diffs.to_csv(res / "paired_differences.csv", index=False)
        ivals.to_csv(res / "seed_intervals.csv", index=False)
        means = runs.groupby(["degradation", "capacity", "variant"], sort=False).agg(
            params=("params", "first"), n=("seed", "size"), psnr=("psnr", "mean"),
            psnr_sd=("psnr", "std"), ssim=("ssim", "mean")).reset_index()
        rep.add_heading("Mean PSNR per variant (over seeds)")
        rep.add_table(means.sort_values(["degradation", "params", "variant"]))
        rep.add_heading("Variant - NP per seed: 95 % t interval across seeds")
        if len(ivals):
            rep.add_table(_fmt(ivals.drop(columns=["dataset"]), {
                "mean": 4, "sd": 3, "ci_low": 4, "ci_high": 4, "half_width": 3,
                "cohen_d": 3, "p": 3}), caption="PSNR difference (dB); cohen_d = mean / sd")
            fig = study_figure(ivals, out / "priors_study.png")
            rep.add_figure(fig, caption="Variant - NP against network size (95 % t interval "
                                        "across seeds)")
        else:
            rep.add_paragraph("No variant has its NP partner yet.")
        rep.add_heading("Mixed-effects model")
        contrasts, text = mixed_model(slices, "NP") if len(slices) else (pd.DataFrame(),
                                                                          "no slices")
        rep.add_paragraph(text)
        if len(contrasts):
            contrasts.to_csv(res / "mixed_model_contrasts.csv", index=False)
            rep.add_table(_fmt(contrasts, {"estimate": 4, "se": 3, "ci_low": 4, "ci_high": 4,
                                           "p": 3}), caption="Variant - NP per cell (model)")
        effects = prior_effects(runs)
        effects.to_csv(res / "prior_effects.csv", index=False)
        rep.add_heading("What the priors change")
        rep.add_paragraph("grad_ratio: median over training of ||grad of the priors|| / "
                          "||grad of the reconstruction term|| over the network's weights "
                          "(probe batch). rank/lapvar: smoothed rank and Laplacian variance of "
                          "output patches; d_rank_np and lapvar_rel_np against NP of the same "
                          "seed, lapvar_rel_hr against the HR patches.")
        rep.add_table(_fmt(effects, {"grad_ratio": 3, "rank_out": 4, "rank_hr": 4,
                                     "d_rank_np": 3, "lapvar_rel_hr": 4, "lapvar_rel_np": 5}))
    rep.add_config("experiment", exp.path)
    return rep.write(out)
