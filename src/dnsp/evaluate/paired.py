"""Paired comparisons of methods evaluated on the same images (SPEC section 6): mean
difference with its 95 % interval, effect size, paired t and Wilcoxon tests, Holm's
correction, and their table for reports. Split from :mod:`dnsp.evaluate.stats`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from dnsp.evaluate.stats import IMAGE_KEYS, check_columns, t_interval

__all__ = ["format_paired_table", "paired_comparisons"]


def paired_comparisons(
    df: pd.DataFrame,
    value: str = "psnr",
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    baseline: str | None = None,
    by: Sequence[str] = ("dataset", "scale"),
    keys: Sequence[str] = IMAGE_KEYS,
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired tests between methods on the same images, with effect sizes and Holm correction.

    For each comparison (method ``a`` vs method ``b``) and each group of ``by`` (e.g. each
    dataset and scale), the images evaluated by both methods are matched on ``keys`` and the
    differences d = a - b analysed: mean difference with its t-based ``level`` interval, Cohen's
    d_z = mean(d) / sd(d), the paired t-test (``scipy.stats.ttest_rel``) and the Wilcoxon
    signed-rank test (``scipy.stats.wilcoxon``, zero differences dropped). Holm's step-down
    correction is applied across all rows of the returned table, separately for each test.

    Args:
        df: Per-image table with ``method``, ``value`` and the ``keys`` columns.
        value: Metric column.
        pairs: Explicit (a, b) comparisons. Default: each method against ``baseline`` if given,
            else all pairs of methods in sorted order.
        baseline: Method that every other method is compared with (as ``b``).
        by: Grouping columns present in ``df`` (missing ones are ignored).
        keys: Columns identifying an image.

    Returns:
        DataFrame with columns ``by``, ``method_a``, ``method_b``, ``n``, ``mean_a``, ``mean_b``,
        ``mean_diff``, ``ci_low``, ``ci_high``, ``sd_diff``, ``cohen_dz``, ``t``, ``p_t``,
        ``wilcoxon_w``, ``p_wilcoxon``, ``p_t_holm``, ``p_wilcoxon_holm``.

    Raises:
        ValueError: On missing columns, unknown methods, or duplicated images for a method.
    """
    by = [b for b in by if b in df.columns]
    check_columns(df, ["method", value, *keys])
    methods = sorted(df["method"].astype(str).unique())
    if pairs is None:
        if baseline is not None:
            if baseline not in methods:
                raise ValueError(f"baseline {baseline!r} not among methods {methods}")
            pairs = [(m, baseline) for m in methods if m != baseline]
        else:
            pairs = list(itertools.combinations(methods, 2))
    for a, b in pairs:
        for m in (a, b):
            if m not in methods:
                raise ValueError(f"method {m!r} not among {methods}")
    # the same image may appear once per group (e.g. once per training fraction)
    ident = ["method", *by, *[k for k in keys if k not in by]]
    dup = df.duplicated(subset=ident)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} duplicated ({', '.join(ident)}) rows")
    rows = []
    groups = df.groupby(by, sort=True) if by else [((), df)]
    for gkey, g in groups:
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        wide = g.pivot(index=list(keys), columns="method", values=value)
        for a, b in pairs:
            if a not in wide.columns or b not in wide.columns:
                continue
            both = wide[[a, b]].apply(pd.to_numeric, errors="coerce").astype(float)
            both = both[np.isfinite(both.to_numpy()).all(axis=1)]
            xa, xb = both[a].to_numpy(), both[b].to_numpy()
            n = int(xa.size)
            if n == 0:
                continue
            d = xa - xb
            mean_d = float(d.mean())
            sd = float(d.std(ddof=1)) if n > 1 else math.nan
            lo, hi = t_interval(mean_d, sd, n, level)
            dz = mean_d / sd if n > 1 and sd > 0 else math.nan
            if n > 1 and sd > 0:
                t_res = stats.ttest_rel(xa, xb)
                t_stat, p_t = float(t_res.statistic), float(t_res.pvalue)
            else:
                t_stat, p_t = math.nan, math.nan
            if np.count_nonzero(d) > 0:
                w_res = stats.wilcoxon(xa, xb, zero_method="wilcox")
                w_stat, p_w = float(w_res.statistic), float(w_res.pvalue)
            else:
                w_stat, p_w = math.nan, math.nan
            rows.append(
                {
                    **dict(zip(by, gkey, strict=True)),
                    "method_a": a,
                    "method_b": b,
                    "n": n,
                    "mean_a": float(xa.mean()),
                    "mean_b": float(xb.mean()),
                    "mean_diff": mean_d,
                    "ci_low": lo,
                    "ci_high": hi,
                    "sd_diff": sd,
                    "cohen_dz": dz,
                    "t": t_stat,
                    "p_t": p_t,
                    "wilcoxon_w": w_stat,
                    "p_wilcoxon": p_w,
                }
            )
    cols = [
        *by,
        "method_a",
        "method_b",
        "n",
        "mean_a",
        "mean_b",
        "mean_diff",
        "ci_low",
        "ci_high",
        "sd_diff",
        "cohen_dz",
        "t",
        "p_t",
        "wilcoxon_w",
        "p_wilcoxon",
        "p_t_holm",
        "p_wilcoxon_holm",
    ]
    out = pd.DataFrame(rows, columns=[c for c in cols if not c.endswith("_holm")])
    for p_col in ("p_t", "p_wilcoxon"):
        out[f"{p_col}_holm"] = _holm(out[p_col].to_numpy(dtype=float))
    return out[cols]


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values over the finite entries of ``p`` (NaN stays NaN)."""
    adj = np.full(p.shape, math.nan)
    ok = np.isfinite(p)
    if ok.any():
        adj[ok] = multipletests(p[ok], alpha=0.05, method="holm")[1]
    return adj


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 1e-3 else f"{p:.3f}"


def format_paired_table(result: pd.DataFrame, unit: str = "dB", digits: int = 2) -> pd.DataFrame:
    """Readable version of :func:`paired_comparisons` for a report (strings, one row per test).

    Columns: the grouping columns, ``comparison`` ("a - b"), ``n``, ``mean difference [95% CI]``,
    ``d_z``, ``p (t, Holm)``, ``p (Wilcoxon, Holm)``.
    """
    check_columns(
        result,
        [
            "method_a",
            "method_b",
            "n",
            "mean_diff",
            "ci_low",
            "ci_high",
            "cohen_dz",
            "p_t_holm",
            "p_wilcoxon_holm",
        ],
    )
    group_cols = list(result.columns[: list(result.columns).index("method_a")])
    u = f" {unit}" if unit else ""
    out = result[group_cols].copy()
    out["comparison"] = result["method_a"] + " - " + result["method_b"]
    out["n"] = result["n"].astype(int)
    out["mean difference [95% CI]"] = [
        f"{m:+.{digits}f}{u} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
        for m, lo, hi in zip(result["mean_diff"], result["ci_low"], result["ci_high"], strict=True)
    ]
    out["d_z"] = [f"{v:.2f}" if math.isfinite(v) else "n/a" for v in result["cohen_dz"]]
    out["p (t, Holm)"] = [_fmt_p(p) for p in result["p_t_holm"]]
    out["p (Wilcoxon, Holm)"] = [_fmt_p(p) for p in result["p_wilcoxon_holm"]]
    return out.reset_index(drop=True)
