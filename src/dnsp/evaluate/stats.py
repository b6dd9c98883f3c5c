"""Statistics of per-image metrics: summaries, ANOVA with 95% intervals, paired tests.

The paper compares methods with a two-way ANOVA (method x dataset) on per-image PSNR and plots
95% confidence intervals per method-dataset cell (Figs. 10, 16, 21), and a one-way ANOVA for the
low-field experiment (Fig. 18). SPEC section 6 adds paired tests between methods evaluated on the
same images (:mod:`dnsp.evaluate.paired`). Input everywhere is the per-slice table of
:mod:`dnsp.metrics` (columns method, dataset, scale, subject, slice, psnr, ssim, psnr_brain,
ssim_brain) as a pandas DataFrame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm

__all__ = [
    "IMAGE_KEYS",
    "AnovaResult",
    "FactorTest",
    "check_columns",
    "finite_rows",
    "one_way_anova",
    "summarise",
    "t_interval",
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


def check_columns(df: pd.DataFrame, cols: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the columns of ``cols`` that ``df`` lacks."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}; it has {list(df.columns)}")


def finite_rows(df: pd.DataFrame, value: str) -> pd.DataFrame:
    """Rows whose ``value`` is finite (a perfect slice has PSNR = inf and cannot enter a mean)."""
    v = pd.to_numeric(df[value], errors="coerce").astype(float)
    return df.loc[np.isfinite(v.to_numpy())].assign(**{value: v[np.isfinite(v.to_numpy())]})


def t_interval(mean: float, sd: float, n: int, level: float) -> tuple[float, float]:
    """Student-t interval of a mean at confidence ``level`` (NaNs below two values)."""
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
    check_columns(df, list(values))
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
            lo, hi = t_interval(mean, sd, n, level)
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
    check_columns(df, [value, *factors])
    data = finite_rows(df, value)
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
        lo, hi = t_interval(mean, sd, n, level)
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
