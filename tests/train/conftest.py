"""Tiny synthetic data and configs for the training tests (seconds per run on a CPU)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dnsp.ops import bicubic_upscale, degrade, gaussian_blur2d
from dnsp.train.config import TrainConfig, load_config
from dnsp.train.data import TrainData


def synthetic_images(n: int, size: int, seed: int) -> torch.Tensor:
    """Smooth random 'anatomy' in [0, 1] with a dark border, (n, 1, size, size)."""
    g = torch.Generator().manual_seed(seed)
    img = gaussian_blur2d(torch.rand(n, 1, size, size, generator=g), 1.5)
    img = (img - img.amin()) / (img.amax() - img.amin())
    img[..., :2, :] = 0
    img[..., :, :2] = 0
    return img


def lr_hr_pairs(hr: torch.Tensor, scale: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Degrade (SPEC section 4) and bicubic-upscale back to the HR grid."""
    lr = bicubic_upscale(degrade(hr, scale), scale)
    return lr.float().contiguous(), hr[..., : lr.shape[-2], : lr.shape[-1]].contiguous()


def make_data(n_train: int = 64, patch: int = 24, n_val: int = 3, val_size: int = 32,
              seed: int = 0) -> TrainData:
    ti, tt = lr_hr_pairs(synthetic_images(n_train, patch, seed))
    vi, vt = lr_hr_pairs(synthetic_images(n_val, val_size, seed + 1))
    return TrainData(ti, tt, vi, vt, sharp=tt[:4].clone(), smooth=tt[4:8].clone())


@pytest.fixture(scope="session")
def tiny_data() -> TrainData:
    return make_data()


@pytest.fixture(scope="session")
def volume_data() -> TrainData:
    """Two 4 x 16 x 16 volumes for the 3-D DCSRN."""
    lr, hr = lr_hr_pairs(synthetic_images(8, 16, seed=3).reshape(2, 1, 4, 16, 16))
    return TrainData(lr, hr, lr[:1], hr[:1])


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., TrainConfig]:
    """Config factory: a 2-block x 8-filter EDSR, batch 16 (4 steps per epoch), CPU."""

    def factory(*overrides: str, out: str = "run") -> TrainConfig:
        base = [
            "model.name=edsr", "model.params={n_blocks: 2, n_feats: 8}",
            "optim.batch_size=16", "optim.epochs=1", "run.device=cpu",
            "run.tensorboard=false", "run.progress=false", f"run.out_dir={tmp_path / out}",
            "loss.reduction=mean", "loss.alpha=1e-4", "loss.beta=1e-3", "loss.gamma=1e-6",
        ]
        return load_config(None, [*base, *overrides])

    return factory
