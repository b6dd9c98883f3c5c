"""Parts shared by the seeded studies (priors study, priors strength): the gradient probe,
patch statistics of outputs, and the outputs of a trained network on LR slices."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from dnsp.errors import InputError
from dnsp.priors import laplacian_variance, smoothed_rank
from dnsp.train.config import TrainConfig
from dnsp.train.trainer import Trainer

__all__ = ["GradientProbe", "patch_statistics", "predict_slices"]


def _norm(grads: tuple[Tensor | None, ...]) -> float:
    """Euclidean norm of a list of gradients (None: zero)."""
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads if g is not None))


class GradientProbe:
    """``on_step`` callback: ||grad of the priors|| / ||grad of the reconstruction term||.

    Both gradients are taken over the network's parameters on a fixed probe batch (the priors
    are the loss minus its data term; gamma S does not depend on the network). Nothing is
    accumulated into ``.grad`` and no random numbers are drawn, so training is unchanged.
    Each sample is appended to ``path`` (JSON lines) so that a resumed run keeps them.

    Args:
        x: Probe inputs (B, C, H, W).
        y: Probe targets (B, 1, H, W).
        every: Sample every this many optimiser steps.
        path: JSON-lines file the samples are appended to.
    """

    def __init__(self, x: Tensor, y: Tensor, every: int, path: Path) -> None:
        if every < 1:
            raise InputError(f"study.grad_every must be >= 1, got {every}")
        self.x, self.y, self.every, self.path = x, y, int(every), path

    @staticmethod
    def ratio(net: nn.Module, crit: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float]:
        """(||grad priors||, ||grad reconstruction||) over ``net``'s trainable parameters."""
        params = [p for p in net.parameters() if p.requires_grad]
        pred = net(x)
        total = crit(pred, y)
        diff = (pred - y).flatten(1)
        recon = (0.5 * diff.pow(2).sum(1) if crit.reduction == "sum"
                 else diff.pow(2).mean(1)).mean()
        g_rec = torch.autograd.grad(recon, params, retain_graph=True)
        g_pri = torch.autograd.grad(total - recon, params, allow_unused=True)
        return _norm(g_pri), _norm(g_rec)

    def __call__(self, trainer: Trainer, step: int) -> None:
        if step % self.every:
            return
        dev = trainer.device
        prior, rec = self.ratio(trainer.model, trainer.crit, self.x.to(dev), self.y.to(dev))
        line = {"step": step, "prior": prior, "recon": rec,
                "ratio": prior / rec if rec > 0 else float("nan")}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def read(self) -> pd.DataFrame:
        """The samples written so far, one per step (a resumed run's repeats replaced)."""
        if not self.path.is_file():
            return pd.DataFrame(columns=["step", "prior", "recon", "ratio"])
        rows = [json.loads(t) for t in self.path.read_text().splitlines() if t.strip()]
        df = pd.DataFrame(rows, columns=["step", "prior", "recon", "ratio"])
        return df.drop_duplicates("step", keep="last").sort_values("step")


def _patches(img: np.ndarray, ref: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    for i in range(0, img.shape[-2] - size + 1, size):
        for j in range(0, img.shape[-1] - size + 1, size):
            if (ref[i:i + size, j:j + size] > 0.1).mean() >= 0.5:
                yield i, j


def patch_statistics(pred: np.ndarray, hr: np.ndarray, size: int = 40, delta: float = 0.01,
                     max_patches: int = 512) -> dict[str, float]:
    """Mean smoothed rank and Laplacian variance of output and HR patches.

    Patches are the non-overlapping ``size`` x ``size`` tiles of each slice whose HR is at
    least half foreground (> 0.1); at most ``max_patches``, evenly spaced.

    Args:
        pred: Outputs (N, H, W) in [0, 1].
        hr: HR slices (N, H, W).
        size: Patch size (the training patch size).
        delta: Width of the smoothed rank (the loss's delta).
        max_patches: Cap on the number of patches.

    Returns:
        ``rank_out``, ``rank_hr``, ``lapvar_out``, ``lapvar_hr`` (NaN when no tile qualifies).
    """
    if pred.shape != hr.shape or pred.ndim != 3:
        raise ValueError(f"pred {pred.shape} and hr {hr.shape} must be equal (N, H, W) arrays")
    where = [(k, i, j) for k in range(hr.shape[0]) for i, j in _patches(pred[k], hr[k], size)]
    if not where:
        return dict.fromkeys(("rank_out", "rank_hr", "lapvar_out", "lapvar_hr"), float("nan"))
    pick = np.unique(np.linspace(0, len(where) - 1, min(max_patches, len(where))).astype(int))
    out: dict[str, float] = {}
    for key, arr in (("out", pred), ("hr", hr)):
        t = torch.from_numpy(np.stack([arr[k, i:i + size, j:j + size]
                                       for k, i, j in (where[p] for p in pick)])).double()
        out[f"rank_{key}"] = float(smoothed_rank(t, delta).mean())
        out[f"lapvar_{key}"] = float(laplacian_variance(t).mean())
    return {k: out[k] for k in ("rank_out", "rank_hr", "lapvar_out", "lapvar_hr")}


@torch.no_grad()
def predict_slices(net: nn.Module, cfg: TrainConfig, lr: np.ndarray, chunk: int = 8) -> np.ndarray:
    """Outputs (N, H, W) of ``net`` for LR slices, inputs formed as in training."""
    net.eval()
    form = cfg.data.to_spec().network_input
    x = form(torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32)))
    out = torch.cat([net(x[k:k + chunk]) for k in range(0, x.shape[0], chunk)])
    return np.clip(out[:, 0].numpy(), 0.0, 1.0)
