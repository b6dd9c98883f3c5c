"""dnsp tune: search strategies, outputs, config loading."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dnsp.errors import InputError
from dnsp.train.config import TrainConfig
from dnsp.train.data import TrainData
from dnsp.train.tune import TuneSpace, load_tune_config, tune


def _fake_runner(log: list[TrainConfig]) -> Callable[[TrainConfig, TrainData], tuple]:
    """Score peaks at alpha=1e-3, beta=0.5, gamma=1e-5 with reduction=mean."""

    def run(cfg: TrainConfig, data: TrainData) -> tuple[float, float, int]:
        log.append(cfg)
        loss = cfg.loss
        if loss.variant == "NP":
            return 30.0, 0.9, 1
        s = 31.0 - abs(loss.alpha - 1e-3) * 100 - abs(loss.beta - 0.5) - abs(loss.gamma - 1e-5)
        return s + (0.5 if loss.reduction == "mean" else 0.0), 0.9, 2

    return run


def test_coordinate_search_finds_the_peak(
    tmp_path: Path, make_cfg: Callable[..., TrainConfig], tiny_data: TrainData
) -> None:
    base = make_cfg("loss.variant=AP")
    space = TuneSpace(alpha=[1e-5, 1e-3, 1e-1], beta=[5e-3, 0.5, 50.0],
                      gamma=[1e-7, 1e-5, 1e-3], epochs=1, stable_only=False)
    log: list[TrainConfig] = []
    chosen, trials = tune(base, space, tiny_data, tmp_path, quiet=True,
                          runner=_fake_runner(log))
    assert (chosen.reduction, chosen.alpha, chosen.beta, chosen.gamma) == ("mean", 1e-3, 0.5, 1e-5)
    # NP + paper + per reduction (1 start + 2 new values per weight); the 'sum' start point
    # equals the paper's values and is trained once: 2 + 2 * 7 - 1
    assert len(trials) == len(log) == 15
    assert all(c.optim.epochs == 1 for c in log)
    rows = list(csv.DictReader((tmp_path / "tune.csv").open()))
    assert len(rows) == 15 and rows[0]["variant"] == "NP"
    doc = yaml.safe_load((tmp_path / "chosen.yml").read_text())
    assert doc["loss"] == {"variant": "AP", "reduction": "mean", "alpha": 1e-3, "beta": 0.5,
                           "gamma": 1e-5}
    assert doc["selection"]["np"]["val_psnr"] == 30.0


def test_grid_search_size(
    tmp_path: Path, make_cfg: Callable[..., TrainConfig], tiny_data: TrainData
) -> None:
    space = TuneSpace(reductions=["mean"], alpha=[0.0, 1e-3], beta=[0.5], gamma=[0.0, 1e-5],
                      strategy="grid", include_np=False, include_paper=False, stable_only=False)
    log: list[TrainConfig] = []
    chosen, trials = tune(make_cfg("loss.variant=AP"), space, tiny_data, tmp_path, quiet=True,
                          runner=_fake_runner(log))
    assert len(trials) == 4 and (chosen.alpha, chosen.gamma) == (1e-3, 1e-5)


def test_unstable_betas_are_not_trained(
    tmp_path: Path, make_cfg: Callable[..., TrainConfig], tiny_data: TrainData
) -> None:
    """With the MSE reduction beta_c is near 1/64; larger betas are listed, never trained."""
    space = TuneSpace(reductions=["mean", "sum"], alpha=[1e-3], beta=[5e-3, 0.5], gamma=[1e-5],
                      strategy="grid", include_np=False, include_paper=False)
    log: list[TrainConfig] = []
    chosen, trials = tune(make_cfg("loss.variant=AP"), space, tiny_data, tmp_path, quiet=True,
                          runner=_fake_runner(log))
    assert len(trials) == 4 and len(log) == 3
    assert [(c.loss.reduction, c.loss.beta) for c in log] == [
        ("mean", 5e-3), ("sum", 5e-3), ("sum", 0.5)]
    # ("mean", 0.5) would score best (31.5) but is unstable; the best stable trial wins
    assert (chosen.reduction, chosen.beta) == ("mean", 5e-3)
    rows = list(csv.DictReader((tmp_path / "tune.csv").open()))
    skipped = [r for r in rows if r["note"]]
    assert len(skipped) == 1 and skipped[0]["reduction"] == "mean"
    assert float(skipped[0]["beta_c"]) < 0.5 < float(rows[2]["beta_c"])


def test_real_short_tuning_run(
    tmp_path: Path, make_cfg: Callable[..., TrainConfig], tiny_data: TrainData
) -> None:
    space = TuneSpace(reductions=["mean"], alpha=[1e-4], beta=[1e-3], gamma=[0.0, 1e-6],
                      epochs=1, include_paper=False)
    _, trials = tune(make_cfg("loss.variant=AP"), space, tiny_data, tmp_path, quiet=True)
    assert len(trials) == 3
    assert all(t.psnr > 0 for t in trials)
    assert (tmp_path / "trials" / trials[0].name / "last.pt").is_file()


def test_load_tune_config(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(yaml.safe_dump({"loss": {"variant": "LS"},
                                    "tune": {"alpha": [0.0], "epochs": 3}}))
    cfg, space = load_tune_config(path, ["tune.strategy=grid", "optim.lr=1e-3"])
    assert cfg.loss.variant == "LS" and cfg.optim.lr == 1e-3
    assert space.alpha == [0.0] and space.epochs == 3 and space.strategy == "grid"
    with pytest.raises(InputError, match=r"unknown config key .tune\.alfa."):
        load_tune_config(path, ["tune.alfa=[1]"])
    with pytest.raises(InputError, match="other than NP"):
        load_tune_config(path, ["loss.variant=NP"])
