"""Statistics of per-image metrics: summaries, ANOVA with 95% intervals, paired tests.

The paper compares methods with a two-way ANOVA (method x dataset) on per-image PSNR and plots
95% confidence intervals per method-dataset cell (Figs. 10, 16, 21), and a one-way ANOVA for the
low-field experiment (Fig. 18). SPEC section 6 adds paired tests between methods evaluated on the
same images. Input everywhere is the per-slice table of :mod:`dnsp.metrics` (columns method,
dataset, scale, subject, slice, psnr, ssim, psnr_brain, ssim_brain) as a pandas DataFrame.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

__all__ = [
    "IMAGE_KEYS",
    "AnovaResult",
    "FactorTest",
    "format_paired_table",
    "one_way_anova",
    "paired_comparisons",
    "summarise",
    "two_way_anova",
]

#: Columns that identify one evaluated image across methods.
IMAGE_KEYS: tuple[str, ...] = ("dataset", "scale", "subject", "slice")


@dataclass(frozen=True)
class FactorTest:
    """One row of an ANOVA table: a factor (or interaction) tested against the residual."""

    name: str
    df: float
    sum_sq: float
    F: float
    p: float


@dataclass(frozen=True)
class AnovaResult:
    """Result of :func:`two_way_anova` / :func:`one_way_anova`.

    Attributes:
        value: The analysed column (e.g. ``psnr``).
        factors: The factor columns, in model order.
        tests: Tested terms, keyed by ``method``, ``dataset`` and ``method:dataset``.
        df_resid: Residual degrees of freedom.
        mse: Residual mean square (the pooled within-cell variance of the full model).
        n: Number of observations used.
        cells: One row per factor-level combination: the factor columns, ``n``, ``mean``,
            ``std``, ``ci_low``/``ci_high`` (t interval from the cell's own standard deviation)
            and ``ci_low_pooled``/``ci_high_pooled`` (mean +- t(0.975, df_resid) sqrt(MSE / n),
            the intervals that the ANOVA model implies).
        table: The statsmodels ANOVA table (type II sums of squares).
    """

    value: str
    factors: tuple[str, ...]
    tests: dict[str, FactorTest]
    df_resid: float
    mse: float
    n: int
    cells: pd.DataFrame
    table: pd.DataFrame

    def describe(self, term: str | None = None) -> str:
        """Terms in the paper's style, e.g. ``method: df = 7, F = 1466.94, p < 0.001``."""
        names = [term] if term is not None else list(self.tests)
        parts = []
        for name in names:
            t = self.tests[name]
            p = "p < 0.001" if t.p < 1e-3 else f"p = {t.p:.3f}"
            parts.append(f"{name}: df = {t.df:g}, F = {t.F:.2f}, {p}")
        return "; ".join(parts)


def _check_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}; it has {list(df.columns)}")


def _finite(df: pd.DataFrame, value: str) -> pd.DataFrame:
    """Rows whose ``value`` is finite (a perfect slice has PSNR = inf and cannot enter a mean)."""
    v = pd.to_numeric(df[value], errors="coerce").astype(float)
    return df.loc[np.isfinite(v.to_numpy())].assign(**{value: v[np.isfinite(v.to_numpy())]})


def _t_interval(mean: float, sd: float, n: int, level: float) -> tuple[float, float]:
    if n < 2 or not math.isfinite(sd):
        return (math.nan, math.nan)
    h = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return (mean - h, mean + h)


def summarise(
    df: pd.DataFrame,
    values: Sequence[str] = ("psnr", "ssim"),
    by: Sequence[str] = ("method", "dataset", "scale"),
    level: float = 0.95,
) -> pd.DataFrame:
    """Mean, standard deviation and t-based confidence interval of each metric per group.

    Non-finite values (PSNR of an identical slice, NaN brain metrics of an empty slice) are
    left out of their metric's statistics, and the count ``<value>_n`` says how many entered.

    Returns:
        One row per group with columns ``by`` then, per value, ``<value>_n``, ``<value>_mean``,
        ``<value>_std`` (ddof 1), ``<value>_ci_low``, ``<value>_ci_high``.
    """
    by = [b for b in by if b in df.columns]
    _check_columns(df, list(values))
    rows = []
    for key, g in df.groupby(by, sort=True) if by else [((), df)]:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        for v in values:
            x = pd.to_numeric(g[v], errors="coerce").to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n = int(x.size)
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            lo, hi = _t_interval(mean, sd, n, level)
            row.update(
                {
                    f"{v}_n": n,
                    f"{v}_mean": mean,
                    f"{v}_std": sd,
                    f"{v}_ci_low": lo,
                    f"{v}_ci_high": hi,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _anova(
    df: pd.DataFrame, value: str, factors: Sequence[str], interaction: bool, level: float
) -> AnovaResult:
    _check_columns(df, [value, *factors])
    data = _finite(df, value)
    names = [f"f{i}" for i in range(len(factors))]
    work = pd.DataFrame({"y": data[value].to_numpy(dtype=float)})
    for nm, f in zip(names, factors, strict=True):
        work[nm] = data[f].astype(str).to_numpy()
        levels = work[nm].nunique()
        if levels < 2:
            raise ValueError(f"factor {f!r} has {levels} level(s); an ANOVA needs at least 2")
    joiner = " * " if interaction else " + "
    formula = "y ~ " + joiner.join(f"C({nm})" for nm in names)
    model = ols(formula, data=work).fit()
    if model.df_resid < 1:
        raise ValueError("not enough observations for the ANOVA (no residual degrees of freedom)")
    table = anova_lm(model, typ=2)
    rename = {f"C({nm})": f for nm, f in zip(names, factors, strict=True)}
    rename.update({":".join(f"C({nm})" for nm in names): ":".join(factors)})
    table = table.rename(index=rename)
    tests = {
        str(idx): FactorTest(
            str(idx), float(r["df"]), float(r["sum_sq"]), float(r["F"]), float(r["PR(>F)"])
        )
        for idx, r in table.iterrows()
        if idx != "Residual"
    }
    df_resid = float(model.df_resid)
    mse = float(model.mse_resid)
    tq = stats.t.ppf(0.5 + level / 2, df_resid)
    cell_rows = []
    for key, g in data.groupby(list(factors), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        x = g[value].to_numpy(dtype=float)
        n = int(x.size)
        mean = float(x.mean())
        sd = float(x.std(ddof=1)) if n > 1 else math.nan
        lo, hi = _t_interval(mean, sd, n, level)
        half = tq * math.sqrt(mse / n)
        cell_rows.append(
            {
                **dict(zip(factors, key, strict=True)),
                "n": n,
                "mean": mean,
                "std": sd,
                "ci_low": lo,
                "ci_high": hi,
                "ci_low_pooled": mean - half,
                "ci_high_pooled": mean + half,
            }
        )
    return AnovaResult(
        value=value,
        factors=tuple(factors),
        tests=tests,
        df_resid=df_resid,
        mse=mse,
        n=len(work),
        cells=pd.DataFrame(cell_rows),
        table=table,
    )


def two_way_anova(
    df: pd.DataFrame,
    value: str = "psnr",
    factors: tuple[str, str] = ("method", "dataset"),
    *,
    interaction: bool = True,
    level: float = 0.95,
) -> AnovaResult:
    """Two-way ANOVA of ``value`` on two factors (paper Figs. 10, 16, 21).

    Fits ``value ~ C(method) * C(dataset)`` by ordinary least squares (statsmodels ``ols``) and
    tests each term with type II sums of squares (``anova_lm(typ=2)``). Rows with a non-finite
    value are dropped. Cell intervals: see :class:`AnovaResult`.

    Raises:
        ValueError: On missing columns, a factor with fewer than 2 levels, or too few rows.
    """
    if len(factors) != 2:
        raise ValueError(f"two_way_anova needs exactly two factors, got {factors!r}")
    return _anova(df, value, factors, interaction, level)


def one_way_anova(
    df: pd.DataFrame, value: str = "psnr", factor: str = "method", *, level: float = 0.95
) -> AnovaResult:
    """One-way ANOVA of ``value`` across the levels of ``factor`` (paper Fig. 18)."""
    return _anova(df, value, (factor,), False, level)


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
    _check_columns(df, ["method", value, *keys])
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
            lo, hi = _t_interval(mean_d, sd, n, level)
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
    _check_columns(
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
