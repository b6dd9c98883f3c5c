"""The priors study (issue 17): statistics on synthetic tables, the smoke grid, resume."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dnsp.cli import main
from dnsp.errors import InputError
from dnsp.evaluate.experiments import load_experiment
from dnsp.evaluate.priors_study import (
    RUN_COLUMNS,
    StudyRun,
    _Study,
    adaptive_plan,
    run_priors_study,
    seeds_wanted,
    study_runs,
)
from dnsp.evaluate.priors_study_stats import (
    mixed_model,
    paired_differences,
    prior_effects,
    seed_intervals,
)
from dnsp.evaluate.study_parts import GradientProbe, patch_statistics
from dnsp.losses import DNSPLoss
from dnsp.nets import build_network, count_parameters
from dnsp.train.parts import build_model
from dnsp.yamlio import read_yaml

REPO = Path(__file__).resolve().parents[2]


def _runs(diffs: dict[str, list[float]], base: float = 30.0) -> pd.DataFrame:
    """A runs table: NP at ``base + seed`` and each variant at NP + its difference."""
    rows = []
    for variant, ds in {"NP": [0.0] * len(next(iter(diffs.values()))), **diffs}.items():
        for seed, d in enumerate(ds):
            rows.append({"dataset": "IXI", "degradation": "gaussian", "capacity": "4x16",
                         "params": 1000, "variant": variant, "seed": seed,
                         "psnr": base + seed + d, "grad_ratio": 0.0 if variant == "NP" else 1e-3,
                         "rank_out": 20.0 + d, "rank_hr": 25.0, "lapvar_out": 2.0 + d,
                         "lapvar_hr": 4.0})
    return pd.DataFrame(rows)


def test_paired_differences_and_seed_interval_golden() -> None:
    runs = _runs({"AP": [0.1, 0.2, 0.3], "LR": [-0.01, 0.03, 0.01]})
    diffs = paired_differences(runs)
    assert len(diffs) == 6 and set(diffs["variant"]) == {"AP", "LR"}
    ap = diffs[diffs["variant"] == "AP"].sort_values("seed")["diff"].to_numpy()
    np.testing.assert_allclose(ap, [0.1, 0.2, 0.3], atol=1e-12)
    iv = seed_intervals(diffs).set_index("variant")
    # mean 0.2, sd 0.1, t(0.975, 2) * 0.1 / sqrt(3) = 0.248414, d_z = 2, p = 0.074180
    assert iv.loc["AP", "n"] == 3
    assert iv.loc["AP", "mean"] == pytest.approx(0.2)
    assert iv.loc["AP", "sd"] == pytest.approx(0.1)
    assert iv.loc["AP", "half_width"] == pytest.approx(0.24841377117503302)
    assert iv.loc["AP", "ci_low"] == pytest.approx(0.2 - 0.24841377117503302)
    assert iv.loc["AP", "cohen_d"] == pytest.approx(2.0)
    assert iv.loc["AP", "p"] == pytest.approx(0.07417990022744855)
    assert iv.loc["LR", "mean"] == pytest.approx(0.01)
    assert iv.loc["LR", "sd"] == pytest.approx(0.02)


def test_seed_interval_with_one_seed_is_nan_and_unpaired_runs_are_dropped() -> None:
    runs = _runs({"AP": [0.05]})
    runs = pd.concat([runs, runs.assign(seed=7, variant="AP")])  # AP seed 7 has no NP partner
    iv = seed_intervals(paired_differences(runs))
    assert len(iv) == 1 and iv["n"].iloc[0] == 1 and iv["mean"].iloc[0] == pytest.approx(0.05)
    assert math.isnan(iv["half_width"].iloc[0]) and math.isnan(iv["cohen_d"].iloc[0])


def test_prior_effects_relative_to_np_and_hr() -> None:
    eff = prior_effects(_runs({"AP": [0.1, 0.2, 0.3]})).set_index("variant")
    assert eff.loc["AP", "d_rank_np"] == pytest.approx(0.2)
    assert eff.loc["NP", "lapvar_rel_hr"] == pytest.approx(0.5)
    assert eff.loc["AP", "grad_ratio"] == pytest.approx(1e-3)


def _slices(effect: dict[tuple[str, str], float], seeds: int = 3, subjects: int = 4,
            noise: float = 1e-3) -> pd.DataFrame:
    """Per-slice PSNR with subject and seed offsets and a known variant effect per cell."""
    rng = np.random.default_rng(0)
    subj = rng.normal(0.0, 1.0, subjects)
    rows = []
    for deg in ("gaussian", "realistic"):
        for cap, params in (("4x16", 1000), ("8x32", 8000)):
            for seed in range(seeds):
                init = rng.normal(0.0, 0.2)
                for variant in ("NP", "AP"):
                    run = f"{deg}-{cap}-{variant}-{seed}"
                    for s in range(subjects):
                        for k in range(2):
                            rows.append({
                                "run": run, "dataset": "IXI", "degradation": deg,
                                "capacity": cap, "params": params, "variant": variant,
                                "seed": seed, "subject": f"s{s}", "slice": k,
                                "psnr": 30 + subj[s] + init + (1.0 if cap == "8x32" else 0)
                                + (effect[(deg, cap)] if variant == "AP" else 0.0)
                                + rng.normal(0.0, noise)})
    return pd.DataFrame(rows)


def test_mixed_model_recovers_known_effects() -> None:
    effect = {("gaussian", "4x16"): 0.0, ("gaussian", "8x32"): 0.3,
              ("realistic", "4x16"): -0.1, ("realistic", "8x32"): 0.05}
    contrasts, text = mixed_model(_slices(effect))
    assert len(contrasts) == 4 and "converged" in text and "subject" in text
    for _, row in contrasts.iterrows():
        assert row["estimate"] == pytest.approx(effect[(row["degradation"], row["capacity"])],
                                                abs=2e-3)
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
        assert row["se"] < 0.01  # paired within seed: the 0.2 dB seed offsets cancel
    assert set(contrasts["params"]) == {1000, 8000}


def test_mixed_model_needs_two_seeds() -> None:
    df = _slices({k: 0.0 for k in [("gaussian", "4x16"), ("gaussian", "8x32"),
                                   ("realistic", "4x16"), ("realistic", "8x32")]}, seeds=1)
    contrasts, text = mixed_model(df)
    assert contrasts.empty and "not fitted" in text


def test_study_runs_order_pairs_first() -> None:
    plan = study_runs(["IXI"], ["g", "r"], ["a", "b"], ["NP", "AP", "LR"], [0, 1])
    assert len(plan) == 2 * 2 * 3 * 2 and len({r.name for r in plan}) == len(plan)
    assert [r.variant for r in plan[:2]] == ["NP", "AP"]
    assert {r.variant for r in plan[:16]} == {"NP", "AP"}
    assert {r.variant for r in plan[16:]} == {"LR"}


def test_adaptive_plan_without_target_is_the_grid() -> None:
    empty = pd.DataFrame(columns=list(RUN_COLUMNS))
    args = (["IXI"], ["g", "r"], ["a", "b"], ["NP", "AP", "LR"], [0, 1])
    assert adaptive_plan(empty, *args) == study_runs(*args)
    assert adaptive_plan(empty, *args, target=0.05, max_seeds=5) == study_runs(*args)


def test_seeds_added_while_the_interval_is_wide() -> None:
    cell = ("IXI", "gaussian", "4x16")
    wide = _runs({"AP": [0.1, -0.1, 0.2]})          # half-width ~0.38 dB
    narrow = _runs({"AP": [0.01, 0.011, 0.012]})    # ~0.0025 dB
    assert seeds_wanted(wide, cell, [0, 1, 2]) == [0, 1, 2]          # no target: as listed
    assert seeds_wanted(wide, cell, [0, 1, 2], 0.05, 5) == [0, 1, 2, 3]
    assert seeds_wanted(wide, cell, [0, 1, 2], 0.05, 3) == [0, 1, 2]  # at max_seeds
    assert seeds_wanted(narrow, cell, [0, 1, 2], 0.05, 5) == [0, 1, 2]
    # a listed seed unfinished: wait for it before deciding
    assert seeds_wanted(wide[wide["seed"] < 2], cell, [0, 1, 2], 0.05, 5) == [0, 1, 2]
    # an extra seed finished: kept, and one more while still wide
    more = _runs({"AP": [0.1, -0.1, 0.2, 0.3]})
    assert seeds_wanted(more, cell, [0, 1, 2], 0.05, 6) == [0, 1, 2, 3, 4]
    plan = adaptive_plan(wide, ["IXI"], ["gaussian"], ["4x16"], ["NP", "AP", "LR"], [0, 1, 2],
                         target=0.05, max_seeds=5)
    names = [r.name for r in plan]
    assert names.index("IXI-gaussian-4x16-AP-s3") < names.index("IXI-gaussian-4x16-LR-s0")
    assert "IXI-gaussian-4x16-LR-s3" not in names   # only once NP and AP of seed 3 exist
    plan = adaptive_plan(more, ["IXI"], ["gaussian"], ["4x16"], ["NP", "AP", "LR"], [0, 1, 2],
                         target=0.05, max_seeds=5)
    assert "IXI-gaussian-4x16-LR-s3" in [r.name for r in plan]


def test_gradient_probe_ratio_zero_without_priors(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_network("edsr", n_blocks=1, n_feats=8, unshuffle=2, input_skip=True)
    x, y = torch.rand(4, 1, 16, 16), torch.rand(4, 1, 16, 16)
    prior, rec = GradientProbe.ratio(net, DNSPLoss("NP"), x, y)
    assert prior == 0.0 and rec > 0
    prior, rec = GradientProbe.ratio(net, DNSPLoss("FS"), x, y)
    assert 0 < prior < rec
    assert all(p.grad is None for p in net.parameters())  # nothing accumulated
    with pytest.raises(InputError, match="grad_every"):
        GradientProbe(x, y, 0, tmp_path / "g.jsonl")


def test_patch_statistics() -> None:
    rng = np.random.default_rng(0)
    hr = np.full((2, 48, 48), 0.5, np.float32) + rng.normal(0, 0.05, (2, 48, 48)).astype(
        np.float32)
    st = patch_statistics(hr, hr, size=24)
    assert st["rank_out"] == pytest.approx(st["rank_hr"])
    assert st["lapvar_out"] == pytest.approx(st["lapvar_hr"]) and st["lapvar_hr"] > 0
    flat = patch_statistics(np.full_like(hr, 0.5), hr, size=24)
    assert flat["lapvar_out"] == pytest.approx(0.0, abs=1e-12) and flat["rank_out"] < 2
    assert math.isnan(patch_statistics(hr * 0, hr * 0, size=24)["rank_out"])  # no foreground
    with pytest.raises(ValueError, match="equal"):
        patch_statistics(hr, hr[:1])


def test_realistic_degradation_is_the_shipped_mixture() -> None:
    study = read_yaml(load_experiment("priors-study").path)["degradations"]["realistic"]
    shipped = read_yaml(REPO / "configs" / "pretrained" / "edsr-mix-x2.yml")["data"]
    for key in ("acquisition", "inputs", "acquisition_draws"):
        assert study[key] == shipped[key], key


def test_budget_without_study_section(tmp_path: Path) -> None:
    raw = (Path(load_experiment("priors-study").path)).read_text()
    p = tmp_path / "ps.yml"
    p.write_text(raw.replace("      seeds: [0, 1]\n", ""))
    with pytest.raises(InputError, match=r"study\.seeds"):
        run_priors_study(load_experiment(p), "smoke", tmp_path / "out", quiet=True)


def test_smoke_study_resumes_run_by_run(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ps"
    exp = load_experiment("priors-study")
    # a study stopped after 5 runs ...
    slices, md, _, _ = run_priors_study(exp, "smoke", out, quiet=True, max_runs=5)
    runs = pd.read_csv(out / "results" / "runs.csv")
    assert len(runs) == 5 and md.is_file()
    first = {r: (out / "runs" / r / "last.pt").stat().st_mtime for r in runs["run"]}
    # ... resumes at the next unfinished run through the command line
    assert main(["reproduce", "priors-study", "--budget", "smoke", "--out", str(out),
                 "--quiet"]) == 0
    assert "report:" in capsys.readouterr().out
    runs = pd.read_csv(out / "results" / "runs.csv")
    assert len(runs) == 16 and runs["run"].is_unique and list(runs.columns) == list(RUN_COLUMNS)
    assert set(runs["variant"]) == {"NP", "AP"} and set(runs["seed"]) == {0, 1}
    assert set(runs["degradation"]) == {"gaussian", "realistic"}
    assert runs["psnr"].notna().all() and (runs["steps"] == 4).all()
    assert (runs.loc[runs["variant"] == "NP", "grad_ratio"] == 0).all()
    assert (runs.loc[runs["variant"] == "AP", "grad_ratio"] > 0).all()
    for r, stamp in first.items():
        assert (out / "runs" / r / "last.pt").stat().st_mtime == stamp
    # every slice file holds the run's slices; the report has its tables and the figure
    for r, n in zip(runs["run"], runs["n_slices"], strict=True):
        assert len(pd.read_csv(out / "results" / "slices" / f"{r}.csv")) == n == 3
    report = (out / "report.md").read_text()
    assert "Finished runs: **16 of 16**" in report and "MixedLM" in report
    assert (out / "priors_study.png").is_file()
    iv = pd.read_csv(out / "results" / "seed_intervals.csv")
    assert len(iv) == 4 and (iv["n"] == 2).all()
    # a finished study is never retrained
    stamps = {r: (out / "runs" / r / "last.pt").stat().st_mtime for r in runs["run"]}
    slices, *_ = run_priors_study(exp, "smoke", out, quiet=True)
    assert len(slices) == 16 * 3
    assert stamps == {r: (out / "runs" / r / "last.pt").stat().st_mtime for r in runs["run"]}


def test_full_budget_is_ready_for_a_gpu(tmp_path: Path) -> None:
    """`--budget full` plans 200 runs and trains the paper's 38 M-parameter EDSR on the GPU."""
    exp = load_experiment("priors-study")
    st = _Study(exp, "full", tmp_path, True, {})
    plan = adaptive_plan(pd.DataFrame(columns=list(RUN_COLUMNS)), ["IXI"],
                         list(st.degradations), list(st.capacities),
                         ["NP", "AP", "LR", "FS", "LS"], list(st.study["seeds"]),
                         float(st.study["target_half_width"]), int(st.study["max_seeds"]))
    assert len(plan) == 5 * 4 * 2 * 5 and plan[0].variant == "NP"
    for deg in st.degradations:
        cfg = st.config(StudyRun("IXI", deg, "32x256", "AP", 0))
        assert cfg.run.device == "auto" and cfg.optim.epochs == 50
        assert 38.3e6 < count_parameters(build_model(cfg.model)) < 38.4e6
