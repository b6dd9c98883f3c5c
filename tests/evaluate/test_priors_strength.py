"""The priors-strength study (issue 29): calibration steps, statistics, claims, the smoke grid."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dnsp.cli import main
from dnsp.errors import InputError
from dnsp.evaluate.priors_strength_settings import RUN_COLUMNS, StrengthSettings, next_multiplier
from dnsp.evaluate.priors_strength_stats import (
    best_levels,
    calibration_table,
    level_name,
    strength_intervals,
    verdict,
)
from dnsp.evaluate.study_workers import claim, claimed
from dnsp.losses import variant_weights


def test_level_names_and_variant_weights() -> None:
    assert [level_name(x) for x in (0.005, 0.05, 0.2, 0.5)] == ["r0.5", "r5", "r20", "r50"]
    assert variant_weights("AP") == ("alpha", "beta")
    assert variant_weights("lr") == ("alpha",)
    assert variant_weights("FS") == ("beta",)
    assert variant_weights("NP") == ()
    assert variant_weights("TVLR") == ("alpha", "tv_weight")
    with pytest.raises(ValueError, match="valid variants"):
        variant_weights("XX")


def test_next_multiplier_steps() -> None:
    assert next_multiplier([], 0.05) == 1.0  # the paper's weights first
    assert next_multiplier([], 0.05, m_max=0.5) == 0.5
    # one point: a linear step (ratio proportional to the factor)
    assert next_multiplier([(1.0, 0.001)], 0.05) == pytest.approx(50.0)
    # two bracketing points: log-log interpolation
    assert next_multiplier([(1.0, 0.01), (100.0, 1.0)], 0.1) == pytest.approx(10.0)
    # two points on one side: the power law through them (slope 0.5), from the nearer one
    assert next_multiplier([(1.0, 0.01), (100.0, 0.1)], 0.4) == pytest.approx(1600.0)
    # slopes are clipped to [0.3, 1.5]: a slope of 0.1 acts as 0.3
    m = next_multiplier([(1.0, 0.1), (10.0, 0.1 * 10 ** 0.1)], 0.2)
    assert m == pytest.approx(10.0 * (0.2 / (0.1 * 10 ** 0.1)) ** (1 / 0.3))
    assert next_multiplier([(1.0, 0.001)], 0.05, m_max=20.0) == 20.0  # beta_c
    # failed pilots (diverged: inf, no probe: nan) are ignored
    assert next_multiplier([(1.0, 0.001), (5.0, math.inf), (3.0, math.nan)], 0.01) == \
        pytest.approx(10.0)
    with pytest.raises(ValueError, match="target"):
        next_multiplier([], 0.0)


def _section(**kw: object) -> dict:
    d = {"capacity": {"name": "c", "params": {}}, "variants": ["LR"], "levels": [0.05],
         "seeds": [0], "pilot_steps": 10}
    d.update(kw)
    return d


@pytest.mark.parametrize(("kw", "msg"), [
    ({"levels": [1.5]}, "levels"), ({"variants": ["NP", "LR"]}, "not NP"),
    ({"capacity": {"name": "c"}}, "capacity"), ({"pilot_tolerance": 1.0}, "pilot_tolerance"),
    ({"seeds": None}, "seeds"),
])
def test_settings_reject_bad_sections(kw: dict, msg: str) -> None:
    sec = _section(**kw)
    if kw.get("seeds", 0) is None:
        del sec["seeds"]
    with pytest.raises(InputError, match=msg):
        StrengthSettings.from_section(sec, "x.yml")


def test_settings_read_levels_and_secondary() -> None:
    s = StrengthSettings.from_section(_section(
        levels=[0.2, 0.005], secondary={"levels": ["best", 0.2], "conditions": [
            {"name": "scarce", "train": {"data.train_fraction": 0.25}}]}), "x.yml")
    assert s.levels == [0.005, 0.2] and s.secondary_levels == ["best", "r20"]
    assert s.secondary[0].degradation == "gaussian" and s.primary.name == "full"


def _runs(diffs: dict[tuple[str, str], list[float]], condition: str = "full") -> pd.DataFrame:
    """Runs with NP at 30 + seed and each (variant, level) at NP + its difference."""
    n = len(next(iter(diffs.values())))
    rows = []
    for (v, lev), ds in {("NP", "none"): [0.0] * n, **diffs}.items():
        for seed, d in enumerate(ds):
            rows.append({"run": f"{condition}-{v}-{lev}-{seed}", "dataset": "IXI",
                         "condition": condition, "degradation": "gaussian", "capacity": "c",
                         "params": 10, "variant": v, "level": lev, "seed": seed,
                         "nominal": 0.05, "status": "ok", "psnr": 30 + seed + d,
                         "ssim": 0.9, "hfen": 0.3 - d / 10, "lapvar_out": 2.0 * (1 + d),
                         "rank_out": 20.0, "grad_ratio": 0.0 if v == "NP" else 0.04})
    return pd.DataFrame(rows)


def test_strength_intervals_golden_and_best_level() -> None:
    runs = _runs({("AP", "r5"): [0.1, 0.2, 0.3], ("AP", "r50"): [-0.5, -0.4, -0.6],
                  ("LR", "r5"): [0.0, 0.01, -0.01]})
    iv = strength_intervals(runs, "psnr").set_index(["variant", "level"])
    assert iv.loc[("AP", "r5"), "mean"] == pytest.approx(0.2)
    assert iv.loc[("AP", "r5"), "half_width"] == pytest.approx(0.24841377117503302)
    assert iv.loc[("AP", "r5"), "grad_ratio"] == pytest.approx(0.04)
    assert iv.loc[("AP", "r50"), "mean"] == pytest.approx(-0.5)
    lap = strength_intervals(runs, "log_lapvar").set_index(["variant", "level"])
    assert lap.loc[("AP", "r5"), "mean"] == pytest.approx(np.mean(np.log([1.1, 1.2, 1.3])))
    assert best_levels(runs) == {"AP": "r5", "LR": "r5"}
    wins, losses = verdict({"psnr": strength_intervals(runs, "psnr"),
                            "hfen": strength_intervals(runs, "hfen")})
    assert any(w.startswith("AP at r50 (full): PSNR -0.5000") for w in losses)
    assert any("AP at r50 (full): HFEN +0.0500" in w for w in losses)  # HFEN higher: worse
    assert not any("LR" in w for w in wins + losses)  # LR's interval contains 0


def test_calibration_table_checks_the_factor_two_band() -> None:
    calib = {"FS": {"beta_c": 11.0, "levels": {"r5": {
        "nominal": 0.05, "multiplier": 90.0, "alpha": 9e-4, "beta": 0.45, "pilot_ratio": 0.05,
        "capped": False}}}}
    runs = _runs({("FS", "r5"): [0.0, 0.0]})
    runs.loc[runs["variant"] == "FS", "grad_ratio"] = [0.09, 0.13]
    t = calibration_table(calib, runs).iloc[0]
    assert t["measured"] == pytest.approx(0.11) and not t["within_2x"]  # 2.2 x nominal
    assert math.isnan(t["alpha"]) and t["beta"] == 0.45  # FS has no rank term


def test_claims_take_over_a_dead_process(tmp_path: Path) -> None:
    assert claim(tmp_path, "x") and not claim(tmp_path, "x")  # held by this process
    assert claimed(tmp_path, "x")
    (tmp_path / "claims" / "y.claim").write_text("999999999")  # a process that is gone
    assert not claimed(tmp_path, "y") and claim(tmp_path, "y")
    assert (tmp_path / "claims" / "y.claim").read_text() == str(os.getpid())


def test_workers_only_for_priors_strength(tmp_path: Path, capsys) -> None:
    assert main(["reproduce", "table1", "--out", str(tmp_path), "--workers", "2"]) == 2
    assert "priors-strength only" in capsys.readouterr().err


def test_smoke_grid_two_workers_then_resume(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s"
    args = ["reproduce", "priors-strength", "--budget", "smoke", "--out", str(out),
            "--quiet", "--threads", "1"]
    assert main([*args, "--workers", "2"]) == 0
    runs = pd.read_csv(out / "results" / "runs.csv")
    assert list(runs.columns) == list(RUN_COLUMNS)
    assert runs["run"].is_unique
    calib = json.loads((out / "results" / "calibration.json").read_text())
    assert set(calib) == {"LR", "AP"}
    for v in ("LR", "AP"):
        assert set(calib[v]["levels"]) == {"r5", "r50"}
        assert calib[v]["pilots"][0][0] == 1.0  # the paper's weights first
        assert 1 <= len(calib[v]["pilots"]) <= 1 + 2 * 2
    assert calib["LR"]["beta_c"] is None and calib["AP"]["beta_c"] > 0
    # AP's factor never passes 0.9 beta_c
    for lv in calib["AP"]["levels"].values():
        assert lv["beta"] <= 0.9 * calib["AP"]["beta_c"] * (1 + 1e-9)
    prim = runs[runs["condition"] == "full"]
    for v in ("NP", "LR", "AP"):
        assert set(prim.loc[prim["variant"] == v, "seed"]) == {0, 1}
    assert set(prim.loc[prim["variant"] == "AP", "level"]) == {"paper", "r5", "r50",
                                                                "above-beta_c"}
    above = prim[prim["level"] == "above-beta_c"].iloc[0]
    assert above["beta"] == pytest.approx(1.2 * above["beta_c"])
    ok = runs[runs["status"] == "ok"]
    assert ok["hfen"].between(0, 5).all() and (ok["grad_ratio"][ok["variant"] != "NP"] > 0).all()
    # secondary: NP and each variant's best level on the scarce condition
    sec = runs[runs["condition"] == "scarce"]
    assert {"NP", "LR", "AP"} <= set(sec["variant"])
    slices = pd.read_csv(out / "results" / "slices" / f"{prim['run'].iloc[0]}.csv")
    assert {"psnr", "ssim", "hfen", "subject"} <= set(slices.columns)
    report = (out / "report.md").read_text()
    assert "## Verdict" in report and "Calibration" in report and "above beta_c" in report.lower()
    assert (out / "priors_strength_full.png").is_file()
    assert (out / "priors_strength_crops.png").is_file()
    # resume: nothing is trained again
    before = {p: p.stat().st_mtime for p in (out / "results" / "slices").iterdir()}
    assert main(args) == 0
    assert len(pd.read_csv(out / "results" / "runs.csv")) == len(runs)
    assert {p: p.stat().st_mtime for p in (out / "results" / "slices").iterdir()} == before
    capsys.readouterr()


def test_cpu_and_full_budgets_plan_their_grids(tmp_path: Path) -> None:
    """`--budget cpu` plans NP + 3 variants x 5 levels x 3 seeds (+ the run above beta_c);
    `--budget full` trains the paper's 38 M-parameter EDSR on the GPU."""
    from dnsp.evaluate.experiments import load_experiment
    from dnsp.evaluate.priors_strength import strength_plan
    from dnsp.evaluate.priors_strength_study import StrengthStudy
    from dnsp.nets import count_parameters
    from dnsp.train.parts import build_model

    exp = load_experiment("priors-strength")
    empty = pd.DataFrame(columns=list(RUN_COLUMNS))
    st = StrengthStudy(exp, "cpu", tmp_path, True, {})
    st._dataset = "IXI"
    items, needs = strength_plan(empty, {}, st)
    runs = [it for it in items if hasattr(it, "seed")]
    # NP of the two secondary conditions needs nothing and is planned from the start
    assert len(runs) == 3 + 3 * 5 * 3 + 1 + 2 * 3 and runs[0].variant == "NP"
    assert [it.name for it in items if not hasattr(it, "seed")] == [
        "calibrate-LR", "calibrate-FS", "calibrate-AP"]
    r20 = next(r for r in runs if r.variant == "FS" and r.level == "r20")
    assert needs[r20.name] == ["calibrate-FS"]
    cfg = st.strength_config(r20, 100.0)
    assert cfg.loss.beta == pytest.approx(0.5) and cfg.optim.epochs == 4
    assert cfg.data.max_patches == 4000
    scarce = st.strength_config(st._run("FS", "r20", 0, "scarce"), 100.0)
    assert scarce.data.train_fraction == 0.25 and scarce.data.max_patches == 1000
    assert scarce.optim.epochs == 16
    real = st.strength_config(st._run("NP", "none", 0, "realistic"), 0.0)
    assert real.data.acquisition is not None and real.data.acquisition["name"] == "mixture"
    full = StrengthStudy(exp, "full", tmp_path, True, {})
    full._dataset = "IXI"
    cfg = full.strength_config(full._run("AP", "paper", 0), 1.0)
    assert cfg.run.device == "auto" and cfg.optim.epochs == 50
    assert 38.3e6 < count_parameters(build_model(cfg.model)) < 38.4e6
