"""ANOVA, intervals and paired tests on synthetic tables with a known effect."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dnsp.evaluate.paired import format_paired_table, paired_comparisons
from dnsp.evaluate.stats import one_way_anova, summarise, two_way_anova

#: True PSNR offsets (dB) of the synthetic table.
METHOD_EFFECT = {"bicubic": 0.0, "srcnn": 1.0, "dnsp": 2.0}
DATASET_EFFECT = {"bw": 3.0, "ixi": 0.0}


def make_table(
    method_effect: dict[str, float],
    dataset_effect: dict[str, float],
    n_images: int = 30,
    noise: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-slice PSNR = 25 + method + dataset + image effect (shared by methods) + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for ds, ds_eff in dataset_effect.items():
        image_eff = rng.normal(0.0, 1.0, n_images)  # the same images for every method
        for m, m_eff in method_effect.items():
            noise_v = rng.normal(0.0, noise, n_images)
            for i in range(n_images):
                val = 25.0 + m_eff + ds_eff + image_eff[i] + noise_v[i]
                rows.append(
                    {
                        "method": m,
                        "dataset": ds,
                        "scale": 2,
                        "subject": f"s{i // 10}",
                        "slice": i % 10,
                        "psnr": val,
                        "ssim": 0.8 + 0.01 * val / 30,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def effect_table() -> pd.DataFrame:
    return make_table(METHOD_EFFECT, DATASET_EFFECT)


def test_two_way_anova_detects_known_effects(effect_table: pd.DataFrame) -> None:
    res = two_way_anova(effect_table)
    n = len(effect_table)
    assert res.n == n
    assert set(res.tests) == {"method", "dataset", "method:dataset"}
    assert res.tests["method"].df == 2 and res.tests["dataset"].df == 1
    assert res.tests["method:dataset"].df == 2
    assert res.df_resid == n - 6
    assert res.tests["method"].p < 1e-10 and res.tests["dataset"].p < 1e-10
    assert res.tests["method:dataset"].p > 0.05  # no interaction was simulated
    # Balanced design: the method sum of squares has the textbook closed form.
    grand = effect_table["psnr"].mean()
    ss_m = sum(len(g) * (g["psnr"].mean() - grand) ** 2 for _, g in effect_table.groupby("method"))
    assert res.tests["method"].sum_sq == pytest.approx(ss_m, rel=1e-9)
    assert res.tests["method"].F == pytest.approx((ss_m / 2) / res.mse, rel=1e-9)
    assert "method: df = 2" in res.describe("method") and "p < 0.001" in res.describe()


def test_anova_cells_and_intervals(effect_table: pd.DataFrame) -> None:
    res = two_way_anova(effect_table)
    cells = res.cells.set_index(["method", "dataset"])
    assert len(cells) == 6 and (cells["n"] == 30).all()
    for (m, d), row in cells.iterrows():
        g = effect_table[(effect_table.method == m) & (effect_table.dataset == d)]["psnr"]
        assert row["mean"] == pytest.approx(g.mean())
        lo, hi = stats.t.interval(0.95, len(g) - 1, loc=g.mean(), scale=stats.sem(g))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
        half = stats.t.ppf(0.975, res.df_resid) * math.sqrt(res.mse / 30)
        assert row["ci_high_pooled"] - row["mean"] == pytest.approx(half)
    # Cells of methods 2 dB apart do not overlap; the simulated offsets are recovered.
    d = cells.loc[("dnsp", "ixi")]
    b = cells.loc[("bicubic", "ixi")]
    assert d["ci_low_pooled"] > b["ci_high_pooled"]
    assert d["mean"] - b["mean"] == pytest.approx(2.0, abs=0.4)


def test_anova_without_effect_is_not_significant() -> None:
    table = make_table({"a": 0.0, "b": 0.0, "c": 0.0}, {"x": 0.0, "y": 0.0}, seed=3)
    res = two_way_anova(table)
    assert res.tests["method"].p > 0.05 and res.tests["dataset"].p > 0.05


def test_one_way_anova_matches_scipy(effect_table: pd.DataFrame) -> None:
    sub = effect_table[effect_table.dataset == "ixi"]
    res = one_way_anova(sub, "psnr", "method")
    ref = stats.f_oneway(*[g["psnr"].to_numpy() for _, g in sub.groupby("method")])
    assert res.tests["method"].F == pytest.approx(ref.statistic, rel=1e-9)
    assert res.tests["method"].p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    assert list(res.cells["method"]) == sorted(METHOD_EFFECT)


def test_anova_input_errors(effect_table: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        two_way_anova(effect_table[effect_table.dataset == "bw"])
    with pytest.raises(ValueError, match="lacks columns"):
        two_way_anova(effect_table.drop(columns="dataset"))
    # Non-finite values (a perfect slice) are dropped, not propagated.
    t = effect_table.copy()
    t.loc[0, "psnr"] = np.inf
    assert two_way_anova(t).n == len(t) - 1


def test_paired_comparisons_known_difference(effect_table: pd.DataFrame) -> None:
    res = paired_comparisons(effect_table, baseline="bicubic")
    assert len(res) == 4  # 2 methods x 2 datasets (one scale)
    row = res[(res.method_a == "dnsp") & (res.dataset == "ixi")].iloc[0]
    sub = effect_table[effect_table.dataset == "ixi"].sort_values(["subject", "slice"])
    a = sub[sub.method == "dnsp"]["psnr"].to_numpy()
    b = sub[sub.method == "bicubic"]["psnr"].to_numpy()
    d = a - b
    assert row["n"] == 30
    assert row["mean_diff"] == pytest.approx(d.mean())
    assert row["ci_low"] < METHOD_EFFECT["dnsp"] < row["ci_high"]
    assert row["cohen_dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert row["t"] == pytest.approx(stats.ttest_rel(a, b).statistic)
    assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert (res["p_t_holm"] >= res["p_t"]).all()
    # Holm by hand: sorted p times (m - rank), cumulative max, capped at 1.
    p = res["p_wilcoxon"].to_numpy()
    order = np.argsort(p)
    adj = np.minimum(1, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    np.testing.assert_allclose(res["p_wilcoxon_holm"].to_numpy()[order], adj)
    # All pairs when no baseline is given; unmatched images are ignored.
    allp = paired_comparisons(effect_table.drop(index=[0, 1]), by=("dataset",))
    assert len(allp) == 6
    first = allp[(allp.dataset == "bw") & (allp.method_a == "bicubic") & (allp.method_b == "dnsp")]
    assert first["n"].iloc[0] == 28


def test_paired_comparisons_per_training_fraction(effect_table: pd.DataFrame) -> None:
    """The same images scored once per fraction (Fig. 15) are compared within each fraction."""
    half = effect_table.assign(fraction=0.5, psnr=effect_table["psnr"] - 1.0)
    both = pd.concat([effect_table.assign(fraction=1.0), half], ignore_index=True)
    res = paired_comparisons(both, baseline="bicubic", by=("dataset", "scale", "fraction"))
    one = paired_comparisons(effect_table, baseline="bicubic")
    assert len(res) == 2 * len(one)
    for frac in (0.5, 1.0):
        part = res[res.fraction == frac].reset_index(drop=True)
        np.testing.assert_allclose(part["mean_diff"], one["mean_diff"])
    with pytest.raises(ValueError, match="duplicated"):
        paired_comparisons(both, baseline="bicubic")  # fraction not in ``by``


def test_paired_comparisons_errors_and_table(effect_table: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="duplicated"):
        paired_comparisons(pd.concat([effect_table, effect_table.iloc[:1]]))
    with pytest.raises(ValueError, match="baseline"):
        paired_comparisons(effect_table, baseline="edsr")
    res = paired_comparisons(effect_table, pairs=[("dnsp", "srcnn")])
    table = format_paired_table(res)
    assert list(table.columns) == [
        "dataset",
        "scale",
        "comparison",
        "n",
        "mean difference [95% CI]",
        "d_z",
        "p (t, Holm)",
        "p (Wilcoxon, Holm)",
    ]
    assert table["comparison"].iloc[0] == "dnsp - srcnn"
    assert re.fullmatch(r"\+\d\.\d\d dB \[\+\d\.\d\d, \+\d\.\d\d\]", table.iloc[0, 4])
    assert table["p (t, Holm)"].iloc[0] == "< 0.001"


def test_summarise(effect_table: pd.DataFrame) -> None:
    t = effect_table.copy()
    t.loc[0, "psnr"] = np.inf
    s = summarise(t)
    assert len(s) == 6 and list(s.columns[:3]) == ["method", "dataset", "scale"]
    first = s.iloc[0]
    assert (first["method"], first["dataset"]) == ("bicubic", "bw")
    assert first["psnr_n"] == 29 and first["ssim_n"] == 30
    g = t[(t.method == "dnsp") & (t.dataset == "ixi")]["psnr"]
    row = s[(s.method == "dnsp") & (s.dataset == "ixi")].iloc[0]
    assert row["psnr_mean"] == pytest.approx(g.mean())
    assert row["psnr_std"] == pytest.approx(g.std(ddof=1))
    true_mean = 25 + METHOD_EFFECT["dnsp"] + DATASET_EFFECT["ixi"]
    assert row["psnr_ci_low"] < row["psnr_mean"] < row["psnr_ci_high"]
    assert abs(row["psnr_mean"] - true_mean) < 1.0
