"""Building blocks of a training run: seeding, model/loss/optimiser builders, the
learning-rate schedule, the objective module, batches and validation.

:class:`dnsp.train.trainer.Trainer` puts them together; they are also usable on their own.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DistributedSampler

from dnsp.errors import InputError
from dnsp.train.config import (
    LossConfig,
    ModelConfig,
    OptimConfig,
)
from dnsp.train.data import TrainData
from dnsp.train.ddp import DistInfo, all_reduce_sum

__all__ = [
    "Objective",
    "baseline_metrics",
    "build_loss",
    "build_model",
    "build_optimizer",
    "deterministic_mode",
    "epoch_batches",
    "lr_factor",
    "seed_everything",
    "validate",
]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds the legacy global state
    torch.manual_seed(seed)


@contextlib.contextmanager
def deterministic_mode(enabled: bool) -> Iterator[None]:
    """Make torch pick deterministic kernels inside the block (restores the previous state)."""
    if not enabled:
        yield
        return
    prev_algo = torch.are_deterministic_algorithms_enabled()
    prev_bench = torch.backends.cudnn.benchmark
    prev_det = torch.backends.cudnn.deterministic
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_algo)
        torch.backends.cudnn.benchmark = prev_bench
        torch.backends.cudnn.deterministic = prev_det


def build_model(cfg: ModelConfig) -> nn.Module:
    """The network named by ``cfg`` (see :func:`dnsp.nets.build_network`).

    Raises:
        InputError: For an unknown name or bad network arguments.
    """
    from dnsp.nets import build_network

    try:
        return build_network(cfg.name, **cfg.params)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def build_loss(cfg: LossConfig, data: TrainData | None, seed: int = 0) -> nn.Module:
    """The DNSP loss of Eq. 10 for ``cfg.variant`` (:class:`dnsp.losses.DNSPLoss`).

    The sharp/smooth patches of ``data`` are passed for the variants with learnable filters
    (LS, AP), which need them for the sharpness measure S when gamma > 0.

    Raises:
        InputError: If LS/AP with gamma > 0 is asked for without sharp/smooth patches.
    """
    from dnsp.losses import DNSPLoss

    needs_patches = cfg.variant in ("LS", "AP") and cfg.gamma > 0
    sharp = smooth = None
    if cfg.variant in ("LS", "AP") and data is not None:
        sharp, smooth = data.sharp, data.smooth
    if needs_patches and (sharp is None or smooth is None):
        raise InputError(
            f"loss variant {cfg.variant} with gamma > 0 needs sharp and smooth patches; the data "
            "provide none (set loss.gamma=0 or use data that select them)"
        )
    try:
        return DNSPLoss(
            cfg.variant, alpha=cfg.alpha, beta=cfg.beta, gamma=cfg.gamma, delta=cfg.delta,
            tv_weight=cfg.tv_weight, reduction=cfg.reduction, n_filters=cfg.n_filters,
            filter_norm=cfg.filter_norm, sharp=sharp, smooth=smooth, seed=seed,
        )
    except ValueError as exc:
        raise InputError(f"bad loss section: {exc}") from exc


def build_optimizer(model: nn.Module, crit: nn.Module, cfg: OptimConfig) -> torch.optim.Adam:
    """Adam over the network, with the loss's learnable filters as a second parameter group.

    The groups are named ``network`` and ``filters``; the filters use ``optim.filter_lr``
    (default: ``optim.lr``).
    """
    groups: list[dict[str, Any]] = [
        {"params": [p for p in model.parameters() if p.requires_grad], "name": "network"}
    ]
    filters = [p for p in crit.parameters() if p.requires_grad]
    if filters:
        groups.append({
            "params": filters, "name": "filters",
            "lr": cfg.filter_lr if cfg.filter_lr is not None else cfg.lr,
        })
    return torch.optim.Adam(
        groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
    )


def lr_factor(schedule: str, step: int, total_steps: int) -> float:
    """Learning-rate multiplier before optimiser step ``step`` (0-based) of ``total_steps``.

    ``constant`` gives 1; ``cosine`` gives (1 + cos(pi * step / total_steps)) / 2.
    """
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}")


def _as_slices(t: Tensor) -> Tensor:
    """(B, 1, D, H, W) -> (B*D, 1, H, W); 2-D batches pass through."""
    if t.dim() == 5:
        b, c, d, h, w = t.shape
        return t.transpose(1, 2).reshape(b * d, c, h, w)
    return t


class Objective(nn.Module):
    """Network and loss in one module: ``forward(x, y)`` returns the scalar loss of Eq. 10.

    The network runs under bf16 autocast when ``bf16`` is set; the loss is evaluated in float32
    on the upcast prediction (3-D predictions are split into axial slices for the 2-D priors).
    Wrapping this module in DDP averages the gradients of the network *and* the filters.
    """

    def __init__(self, net: nn.Module, crit: nn.Module, bf16: bool = False) -> None:
        super().__init__()
        self.net = net
        self.crit = crit
        self.bf16 = bf16

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Loss of the network's prediction for ``x`` against ``y``."""
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            pred = self.net(x)
        return self.crit(_as_slices(pred.float()), _as_slices(y))


def epoch_batches(
    n: int, batch_size: int, epoch: int, seed: int, info: DistInfo | None = None
) -> list[Tensor]:
    """This process's mini-batches of epoch ``epoch``: a fixed-seed shuffle, then chunks.

    The order depends only on (seed, epoch), so a resumed run sees the same batches. With
    several processes each takes its shard (:class:`~torch.utils.data.DistributedSampler`,
    padded so that every process runs the same number of steps) and ``batch_size`` is the
    global batch, split evenly.
    """
    info = info or DistInfo()
    per_rank = batch_size // info.world_size
    sampler = DistributedSampler(
        range(n), num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=seed,
        drop_last=False,
    )
    sampler.set_epoch(epoch)
    order = torch.tensor(list(sampler), dtype=torch.long)
    return list(order.split(per_rank))


@torch.no_grad()
def validate(
    model: nn.Module,
    inputs: Tensor,
    targets: Tensor,
    *,
    batch_size: int = 8,
    device: torch.device | None = None,
    bf16: bool = False,
    info: DistInfo | None = None,
) -> dict[str, float]:
    """Mean per-slice PSNR and SSIM (SPEC section 6) of the network on whole slices.

    Predictions are clipped to [0, 1] (the intensity range of SPEC section 2) before the
    metrics. 3-D inputs ``(N, 1, D, H, W)`` are scored per axial slice. With several processes
    each scores its share of the slices and the sums are combined.

    Returns:
        ``{"psnr": ..., "ssim": ..., "n": number of slices}``.
    """
    from dnsp.metrics import psnr, ssim

    info = info or DistInfo()
    device = device or torch.device("cpu")
    was_training = model.training
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64)
    idx = torch.arange(info.rank, inputs.shape[0], info.world_size)
    for chunk in idx.split(batch_size):
        x = inputs[chunk].to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = model(x)
        pred = _as_slices(pred.float().clamp(0, 1)).cpu().numpy()[:, 0]
        ref = _as_slices(targets[chunk]).numpy()[:, 0]
        for p, r in zip(pred, ref, strict=True):
            sums += torch.tensor([psnr(p, r), ssim(p, r), 1.0], dtype=torch.float64)
    model.train(was_training)
    sums = all_reduce_sum(sums, info)
    n = float(sums[2])
    return {"psnr": float(sums[0]) / n, "ssim": float(sums[1]) / n, "n": int(n)}


def baseline_metrics(inputs: Tensor, targets: Tensor) -> dict[str, float]:
    """PSNR/SSIM of the network inputs themselves (channel 0: the upscaled LR) on the
    validation set."""
    return validate(nn.Identity(), inputs[:, :1], targets)


# ---------------------------------------------------------------------------------------------
# the trainer
