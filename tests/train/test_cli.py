"""`dnsp train` and `dnsp tune` on the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from dnsp.cli import main

TINY = ["model.name=edsr", "model.params={n_blocks: 1, n_feats: 4}", "data.source=embedded",
        "data.max_patches=32", "data.max_val_slices=2", "optim.batch_size=16",
        "optim.epochs=1", "run.device=cpu", "run.tensorboard=false", "loss.variant=AP",
        "loss.reduction=mean"]


def test_print_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--print-config", "loss.variant=np", "optim.epochs=3"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["loss"]["variant"] == "NP" and cfg["optim"]["epochs"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "loss.alpah=1"], "unknown config key 'loss.alpah'"),
        (["train", "--config", "/nonexistent/x.yml"], "config file not found"),
        (["tune", "--out", "x", "tune.alfa=[1]"], "unknown config key 'tune.alfa'"),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_train_and_resume_on_embedded_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--quiet", "--out", str(out), *TINY]) == 0
    assert "trained 1 epochs" in capsys.readouterr().out
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) == 1 and float(rows[0]["val_psnr"]) > 0
    # extending the run by one epoch continues from last.pt
    assert main(["train", "--quiet", "--resume", "--out", str(out), *TINY,
                 "optim.epochs=2"]) == 0
    assert len(list(csv.DictReader((out / "metrics.csv").open()))) == 2
