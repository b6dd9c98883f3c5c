"""The tensors a training run consumes, and how they are obtained from :mod:`dnsp.data`.

The trainer never loads files itself: it receives a :class:`TrainData` (training patch pairs,
whole validation slices, sharp/smooth patches for the sharpness measure S). The command line
builds it from the ``data`` section of the config with :func:`load_train_data`, which calls
:func:`dnsp.data.prepare.prepare_sr_data`; tests and notebooks can construct it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

from dnsp.data.prepare import prepare_sr_data
from dnsp.data.spec import SRDataSpec
from dnsp.errors import InputError
from dnsp.train.config import DataConfig

__all__ = ["TrainData", "data_spec", "load_train_data"]


def _check_pair(a: Tensor, b: Tensor, what: str) -> None:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise InputError(f"{what} inputs and targets must be tensors")
    if a.dim() != b.dim() or a.shape[0] != b.shape[0] or a.shape[2:] != b.shape[2:]:
        raise InputError(f"{what} inputs {tuple(a.shape)} and targets {tuple(b.shape)} differ")
    if a.dim() not in (4, 5) or b.shape[1] != 1 or a.shape[1] < 1 or a.shape[0] < 1 or (
            a.dim() == 5 and a.shape[1] != 1):
        raise InputError(
            f"{what} tensors must be (N, C, H, W) inputs with (N, 1, H, W) targets, or "
            f"(N, 1, D, H, W), with N >= 1; got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise InputError(f"{what} tensors contain non-finite values")


@dataclass
class TrainData:
    """In-memory training and validation tensors, float32 on the CPU.

    Attributes:
        train_inputs: Bicubic-upscaled LR patches ``(P, 1, p, p)`` (3-D nets: ``(P, 1, d, p, p)``).
        train_targets: Matching HR patches.
        val_inputs: Held-out whole slices ``(N, C, H, W)`` (C input channels, usually 1;
            3-D nets: ``(N, 1, D, H, W)``).
        val_targets: Matching HR slices.
        sharp: Sharp patches ``(N_T, 1, P, P)`` for S (paper Sec. III), or None.
        smooth: Smooth patches ``(N_T, 1, P, P)``, or None.
    """

    train_inputs: Tensor
    train_targets: Tensor
    val_inputs: Tensor
    val_targets: Tensor
    sharp: Tensor | None = None
    smooth: Tensor | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Tensor):
                setattr(self, f.name, value.detach().to("cpu", torch.float32).contiguous())
        _check_pair(self.train_inputs, self.train_targets, "training")
        _check_pair(self.val_inputs, self.val_targets, "validation")
        if (self.sharp is None) != (self.smooth is None):
            raise InputError("sharp and smooth patches must be given together")

    @property
    def spatial_dims(self) -> int:
        """2 for slices/patches, 3 for volumes."""
        return self.train_inputs.dim() - 2

    def subset(self, max_train: int | None, max_val: int | None, seed: int = 0) -> TrainData:
        """A copy with at most ``max_train`` training patches (fixed-seed random draw) and the
        first ``max_val`` validation slices."""
        ti, tt = self.train_inputs, self.train_targets
        if max_train is not None and max_train < ti.shape[0]:
            g = torch.Generator().manual_seed(seed)
            idx = torch.randperm(ti.shape[0], generator=g)[:max_train].sort().values
            ti, tt = ti[idx], tt[idx]
        vi, vt = self.val_inputs, self.val_targets
        if max_val is not None:
            vi, vt = vi[:max_val], vt[:max_val]
        return TrainData(ti, tt, vi, vt, self.sharp, self.smooth)


def data_spec(cfg: DataConfig) -> SRDataSpec:
    """The :class:`dnsp.data.spec.SRDataSpec` of a config's ``data`` section."""
    return cfg.to_spec()


def load_train_data(cfg: DataConfig) -> TrainData:
    """Prepare the data of a config's ``data`` section with :func:`prepare_sr_data`
    (2-D patches, or 3-D blocks when ``data.patch_depth`` is set).

    Raises:
        InputError: If the data layer rejects the specification, finds no data, or the
            validation split is empty.
    """
    sr = prepare_sr_data(data_spec(cfg), cache_dir=cfg.cache_dir)
    if sr.val_inputs.shape[0] == 0:
        raise InputError("the validation split is empty; raise data.val_fraction")
    data = TrainData(sr.train_inputs, sr.train_targets, sr.val_inputs, sr.val_targets,
                     sr.sharp if sr.sharp.shape[0] else None,
                     sr.smooth if sr.smooth.shape[0] else None)
    return data.subset(None, cfg.max_val_slices)
