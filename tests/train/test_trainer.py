"""The trainer: one-epoch smoke test per variant, exact resume, Ctrl-C, checks, validation."""

from __future__ import annotations

import csv
import math
import os
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from dnsp.errors import InputError
from dnsp.nets import build_network
from dnsp.train.checkpoint import load_checkpoint
from dnsp.train.config import TrainConfig
from dnsp.train.data import TrainData
from dnsp.train.ddp import DistInfo
from dnsp.train.trainer import (
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    build_loss,
    build_optimizer,
    deterministic_mode,
    epoch_batches,
    lr_factor,
    validate,
)

CfgFactory = Callable[..., TrainConfig]


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("variant", ["NP", "LR", "FS", "LS", "AP", "TVLR"])
def test_one_epoch_smoke_per_variant(
    variant: str, make_cfg: CfgFactory, tiny_data: TrainData
) -> None:
    cfg = make_cfg(f"loss.variant={variant}", out=variant)
    res = Trainer(cfg, tiny_data, quiet=True).fit()
    assert res.epochs == 1 and res.steps == 4
    out = Path(cfg.run.out_dir)
    rows = _rows(out)
    assert len(rows) == 1
    for key in ("train_loss", "train_recon", "val_psnr", "val_ssim"):
        assert math.isfinite(float(rows[0][key])), key
    expected_terms = {"NP": set(), "LR": {"rank"}, "FS": {"sharpness"},
                      "LS": {"sharpness", "measure"}, "AP": {"rank", "sharpness", "measure"},
                      "TVLR": {"rank", "tv"}}[variant]
    terms = {k[len("train_"):] for k in rows[0] if k.startswith("train_")} - {"loss", "recon"}
    assert terms == expected_terms
    for name in ("last.pt", "best.pt", "config.yml", "summary.json", "baseline.json"):
        assert (out / name).is_file(), name


def test_filters_are_learned_in_their_own_group(
    make_cfg: CfgFactory, tiny_data: TrainData
) -> None:
    cfg = make_cfg("loss.variant=AP", "optim.filter_lr=1e-3")
    trainer = Trainer(cfg, tiny_data, quiet=True)
    trainer.fit()
    groups = {g["name"]: g for g in trainer.optimizer.param_groups}
    assert set(groups) == {"network", "filters"}
    assert groups["filters"]["lr"] == 1e-3 and groups["network"]["lr"] == 1e-4
    assert groups["filters"]["params"][0] is trainer.crit.filters
    init = build_loss(cfg.loss, tiny_data, seed=cfg.run.seed).filters
    assert not torch.equal(trainer.crit.filters.detach(), init.detach())
    np_loss = build_loss(make_cfg("loss.variant=NP").loss, tiny_data)
    assert [g["name"] for g in build_optimizer(build_network("srcnn"), np_loss,
                                               cfg.optim).param_groups] == ["network"]


def _state(trainer_out: Path) -> dict:
    return load_checkpoint(trainer_out / "last.pt")


def _assert_same_state(a: dict, b: dict) -> None:
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for key in a["loss"]:
        assert torch.equal(a["loss"][key], b["loss"][key]), key
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(sa[k][name], sb[k][name])
    assert a["progress"]["step"] == b["progress"]["step"]
    assert a["progress"]["best_value"] == b["progress"]["best_value"]


def test_resume_equals_uninterrupted(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    straight = make_cfg("loss.variant=AP", "optim.epochs=2", out="straight")
    Trainer(straight, tiny_data, quiet=True).fit()

    first = make_cfg("loss.variant=AP", "optim.epochs=1", out="resumed")
    Trainer(first, tiny_data, quiet=True).fit()
    second = make_cfg("loss.variant=AP", "optim.epochs=2", out="resumed")
    res = Trainer(second, tiny_data, quiet=True, resume=True).fit()
    assert res.epochs == 2 and res.steps == 8
    _assert_same_state(_state(Path(straight.run.out_dir)), _state(Path(second.run.out_dir)))
    a, b = _rows(Path(straight.run.out_dir)), _rows(Path(second.run.out_dir))
    assert [r["val_psnr"] for r in a] == [r["val_psnr"] for r in b]
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]


def test_stop_mid_epoch_then_resume(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    straight = make_cfg("loss.variant=LS", "optim.epochs=2", out="straight")
    Trainer(straight, tiny_data, quiet=True).fit()

    cfg = make_cfg("loss.variant=LS", "optim.epochs=2", out="stopped")

    def stop_at_6(trainer: Trainer, step: int) -> None:
        if step == 6:
            trainer.request_stop()

    with pytest.raises(TrainingInterrupted, match="epoch 2 after 2 batches") as info:
        Trainer(cfg, tiny_data, quiet=True, on_step=stop_at_6).fit()
    ckpt = load_checkpoint(info.value.checkpoint)
    assert (ckpt["progress"]["epoch"], ckpt["progress"]["batch"]) == (1, 2)
    Trainer(cfg, tiny_data, quiet=True, resume=True).fit()
    _assert_same_state(_state(Path(straight.run.out_dir)), _state(Path(cfg.run.out_dir)))


def test_ctrl_c_writes_resumable_checkpoint(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    cfg = make_cfg("loss.variant=NP")

    def interrupt(trainer: Trainer, step: int) -> None:
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted):
        Trainer(cfg, tiny_data, quiet=True, on_step=interrupt).fit()
    assert signal.getsignal(signal.SIGINT) is handler
    assert load_checkpoint(Path(cfg.run.out_dir) / "last.pt")["progress"]["step"] == 3
    res = Trainer(cfg, tiny_data, quiet=True, resume=True).fit()
    assert res.steps == 4


def test_resume_checkpoint_from_before_a_new_option(
    make_cfg: CfgFactory, tiny_data: TrainData
) -> None:
    """A checkpoint written before an option existed resumes when the option is at its default."""
    cfg = make_cfg("loss.variant=NP", "optim.epochs=1", out="old")
    Trainer(cfg, tiny_data, quiet=True).fit()
    last = Path(cfg.run.out_dir) / "last.pt"
    ckpt = torch.load(last, weights_only=False)
    del ckpt["config"]["data"]["patch_depth"]  # an option added later
    torch.save(ckpt, last)
    res = Trainer(make_cfg("loss.variant=NP", "optim.epochs=2", out="old"), tiny_data,
                  quiet=True, resume=True).fit()
    assert res.epochs == 2
    with pytest.raises(InputError, match="'data' section differs"):
        Trainer(make_cfg("loss.variant=NP", "optim.epochs=3", "data.patch_depth=8", out="old"),
                tiny_data, quiet=True, resume=True).fit()


def test_dcsrn_3d_and_lfmri_train(
    make_cfg: CfgFactory, tiny_data: TrainData, volume_data: TrainData
) -> None:
    vol = volume_data
    cfg = make_cfg("model.name=dcsrn", "model.params={growth: 4}", "loss.variant=LR",
                   "optim.batch_size=2", out="dcsrn")
    res = Trainer(cfg, vol, quiet=True).fit()
    assert res.steps == 1 and math.isfinite(res.best_value)

    cfg = make_cfg("model.name=lfmri", "model.params={n_feats: 8, depth: 2}", out="lfmri")
    trainer = Trainer(cfg, tiny_data, quiet=True)
    trainer.fit()
    assert bool(trainer.model.tissue.fitted)


def test_input_errors(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    with pytest.raises(InputError, match="3-D but the data are 2-D"):
        Trainer(make_cfg("model.name=dcsrn", "model.params={growth: 4}"), tiny_data,
                quiet=True).fit()
    with pytest.raises(InputError, match="no checkpoint"):
        Trainer(make_cfg(out="fresh"), tiny_data, quiet=True, resume=True).fit()
    with pytest.raises(InputError, match="bf16 autocast"):
        Trainer(make_cfg("run.amp=bf16"), tiny_data, quiet=True).fit()
    no_patches = TrainData(tiny_data.train_inputs, tiny_data.train_targets,
                           tiny_data.val_inputs, tiny_data.val_targets)
    with pytest.raises(InputError, match="sharp and smooth patches"):
        Trainer(make_cfg("loss.variant=AP"), no_patches, quiet=True).fit()
    Trainer(make_cfg("loss.variant=NP", out="np"), tiny_data, quiet=True).fit()
    with pytest.raises(InputError, match="'loss' section differs"):
        Trainer(make_cfg("loss.variant=LR", out="np"), tiny_data, quiet=True, resume=True).fit()


def test_divergence_is_reported(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    def poison(trainer: Trainer, step: int) -> None:
        with torch.no_grad():
            next(trainer.model.parameters()).fill_(float("nan"))

    with pytest.raises(TrainingDiverged, match="not finite"):
        Trainer(make_cfg("loss.variant=NP"), tiny_data, quiet=True, on_step=poison).fit()


def test_validate_matches_reference_metrics(tiny_data: TrainData) -> None:
    x, y = tiny_data.val_inputs, tiny_data.val_targets
    met = validate(torch.nn.Identity(), x, y, batch_size=2)
    ref_psnr = np.mean([10 * np.log10(1 / np.mean((a - b) ** 2, dtype=np.float64))
                        for a, b in zip(x[:, 0].numpy(), y[:, 0].numpy(), strict=True)])
    ref_ssim = np.mean([structural_similarity(
        a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=1) for a, b in zip(
            x[:, 0].clamp(0, 1).numpy(), y[:, 0].numpy(), strict=True)])
    assert met["n"] == 3
    assert met["psnr"] == pytest.approx(ref_psnr, abs=1e-4)
    assert met["ssim"] == pytest.approx(ref_ssim, abs=1e-6)


def test_epoch_batches_order_and_shards() -> None:
    a = epoch_batches(50, 8, epoch=3, seed=1)
    assert torch.equal(torch.cat(a).sort().values, torch.arange(50))
    assert all(torch.equal(u, v) for u, v in zip(a, epoch_batches(50, 8, 3, 1), strict=True))
    assert not torch.equal(torch.cat(a), torch.cat(epoch_batches(50, 8, 4, 1)))
    r0 = epoch_batches(50, 8, 0, 1, DistInfo(rank=0, world_size=2))
    r1 = epoch_batches(50, 8, 0, 1, DistInfo(rank=1, world_size=2))
    assert len(r0) == len(r1) and all(len(b) <= 4 for b in r0)
    assert set(torch.cat(r0).tolist()) | set(torch.cat(r1).tolist()) == set(range(50))


def test_deterministic_mode_restores_state() -> None:
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic_mode(True):
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.are_deterministic_algorithms_enabled() == before


def test_tensorboard_or_csv_only(
    make_cfg: CfgFactory, tiny_data: TrainData, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    cfg = make_cfg("loss.variant=NP", "run.tensorboard=true", out="csv_only")
    Trainer(cfg, tiny_data, quiet=True).fit()
    assert "logging to metrics.csv only" in capsys.readouterr().err
    assert not (Path(cfg.run.out_dir) / "tensorboard").exists()
    assert len(_rows(Path(cfg.run.out_dir))) == 1
    monkeypatch.undo()
    pytest.importorskip("tensorboard")
    cfg = make_cfg("loss.variant=NP", "run.tensorboard=true", out="tb")
    Trainer(cfg, tiny_data, quiet=True).fit()
    assert any((Path(cfg.run.out_dir) / "tensorboard").glob("events.out.tfevents.*"))


def test_deterministic_run_is_repeatable(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    a = make_cfg("loss.variant=FS", "run.deterministic=true", out="det_a")
    b = make_cfg("loss.variant=FS", "run.deterministic=true", out="det_b")
    Trainer(a, tiny_data, quiet=True).fit()
    Trainer(b, tiny_data, quiet=True).fit()
    _assert_same_state(_state(Path(a.run.out_dir)), _state(Path(b.run.out_dir)))
    assert not torch.are_deterministic_algorithms_enabled()


def test_lr_factor_golden_values() -> None:
    assert lr_factor("constant", 7, 10) == 1.0
    assert [lr_factor("cosine", s, 4) for s in (0, 2, 4, 9)] == pytest.approx([1, 0.5, 0, 0])
    assert lr_factor("cosine", 1, 4) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)
    with pytest.raises(ValueError, match="schedule"):
        lr_factor("step", 0, 4)


def test_cosine_schedule_decays_both_groups(make_cfg: CfgFactory, tiny_data: TrainData) -> None:
    cfg = make_cfg("loss.variant=AP", "optim.epochs=2", "optim.schedule=cosine",
                   "optim.filter_lr=1e-3")
    res = Trainer(cfg, tiny_data, quiet=True).fit()
    saved = _state(Path(cfg.run.out_dir))["optimizer"]["param_groups"]
    groups = {g["name"]: g["lr"] for g in saved}
    last = lr_factor("cosine", res.steps - 1, res.steps)
    assert groups == pytest.approx({"network": cfg.optim.lr * last, "filters": 1e-3 * last})
    with pytest.raises(InputError, match=r"optim\.schedule 'linear' is not one of"):
        make_cfg("optim.schedule=linear")


def test_warns_when_beta_makes_the_loss_unbounded(
    make_cfg: CfgFactory, tiny_data: TrainData, capsys: pytest.CaptureFixture[str]
) -> None:
    Trainer(make_cfg("loss.variant=FS", out="ok"), tiny_data, quiet=True)._setup()
    assert "warning" not in capsys.readouterr().err
    Trainer(make_cfg("loss.variant=FS", "loss.beta=0.5", out="bad"), tiny_data,
            quiet=True)._setup()
    err = capsys.readouterr().err
    assert "warning: loss.beta=0.5 is above" in err and "bounded below" in err


def test_warns_when_learned_filters_push_beta_above_the_limit(
    make_cfg: CfgFactory, tiny_data: TrainData, capsys: pytest.CaptureFixture[str]
) -> None:
    trainer = Trainer(make_cfg("loss.variant=AP", "loss.beta=0.01", "loss.reduction=mean"),
                      tiny_data, quiet=True)
    trainer._setup()
    assert trainer._watch_beta and "warning" not in capsys.readouterr().err
    assert not trainer._warn_unbounded_loss(epoch=1)
    with torch.no_grad():  # filters three times larger: nine times the gain
        trainer.crit.sharpness_filters.weight.mul_(3.0)
    assert trainer._warn_unbounded_loss(epoch=2)
    err = capsys.readouterr().err
    assert "after epoch 2 the learned filters have grown" in err and "filter_norm=unit" in err


def test_augmented_training_changes_the_run_and_resumes_exactly(
    make_cfg: CfgFactory, tiny_data: TrainData
) -> None:
    plain = make_cfg("loss.variant=NP", "optim.epochs=2", out="plain")
    Trainer(plain, tiny_data, quiet=True).fit()
    straight = make_cfg("loss.variant=NP", "optim.epochs=2", "data.augment=true", out="aug")
    Trainer(straight, tiny_data, quiet=True).fit()
    a, p = _rows(Path(straight.run.out_dir)), _rows(Path(plain.run.out_dir))
    assert [r["train_loss"] for r in a] != [r["train_loss"] for r in p]
    first = make_cfg("loss.variant=NP", "optim.epochs=1", "data.augment=true", out="aug_res")
    Trainer(first, tiny_data, quiet=True).fit()
    second = make_cfg("loss.variant=NP", "optim.epochs=2", "data.augment=true", out="aug_res")
    Trainer(second, tiny_data, quiet=True, resume=True).fit()
    _assert_same_state(_state(Path(straight.run.out_dir)), _state(Path(second.run.out_dir)))
