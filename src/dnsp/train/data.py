"""The tensors a training run consumes, and how they are obtained from :mod:`dnsp.data`.

The trainer never loads files itself: it receives a :class:`TrainData` (training patch pairs,
whole validation slices, sharp/smooth patches for the sharpness measure S). The command line
builds it from the ``data`` section of the config with :func:`load_train_data`, which calls
:func:`dnsp.data.datasets.prepare_sr_data`; tests and notebooks can construct it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from dnsp.errors import InputError
from dnsp.train.config import DataConfig

__all__ = ["TrainData", "data_spec", "load_train_data"]


def _check_pair(a: Tensor, b: Tensor, what: str) -> None:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise InputError(f"{what} inputs and targets must be tensors")
    if a.shape != b.shape:
        raise InputError(f"{what} inputs {tuple(a.shape)} and targets {tuple(b.shape)} differ")
    if a.dim() not in (4, 5) or a.shape[1] != 1 or a.shape[0] < 1:
        raise InputError(
            f"{what} tensors must be (N, 1, H, W) or (N, 1, D, H, W) with N >= 1, got "
            f"{tuple(a.shape)}"
        )
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise InputError(f"{what} tensors contain non-finite values")


@dataclass
class TrainData:
    """In-memory training and validation tensors, float32 on the CPU.

    Attributes:
        train_inputs: Bicubic-upscaled LR patches ``(P, 1, p, p)`` (3-D nets: ``(P, 1, d, p, p)``).
        train_targets: Matching HR patches.
        val_inputs: Held-out whole slices ``(N, 1, H, W)`` (3-D nets: ``(N, 1, D, H, W)``).
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


def data_spec(cfg: DataConfig) -> Any:
    """The :class:`dnsp.data.datasets.SRDataSpec` described by a config's ``data`` section.

    Raises:
        InputError: If the data layer rejects the values.
    """
    from dnsp.data.datasets import SRDataSpec, default_ixi_root

    kwargs: dict[str, Any] = {
        f.name: getattr(cfg, f.name) for f in fields(SRDataSpec) if hasattr(cfg, f.name)
    }
    if kwargs.get("min_patch_foreground") is None:
        kwargs.pop("min_patch_foreground", None)
    if cfg.source == "ixi" and cfg.root is None:
        kwargs["root"] = str(default_ixi_root())
    try:
        return SRDataSpec(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad data section: {exc}") from exc


def load_train_data(cfg: DataConfig) -> TrainData:
    """Prepare the data of a config's ``data`` section with :func:`prepare_sr_data`.

    Raises:
        InputError: If the data layer rejects the specification, finds no data, or the
            validation split is empty.
    """
    from dnsp.data.datasets import prepare_sr_data

    if cfg.patch_depth is not None:
        return load_train_data_3d(cfg)
    sr = prepare_sr_data(data_spec(cfg), cache_dir=cfg.cache_dir)
    if sr.val_inputs.shape[0] == 0:
        raise InputError("the validation split is empty; raise data.val_fraction")
    data = TrainData(sr.train_inputs, sr.train_targets, sr.val_inputs, sr.val_targets,
                     sr.sharp if sr.sharp.shape[0] else None,
                     sr.smooth if sr.smooth.shape[0] else None)
    return data.subset(None, cfg.max_val_slices)


def _blocks(stack: Tensor, depth: int, size: int | None, stride: int) -> Tensor:
    """Cut a (N, H, W) stack into (B, 1, depth, size, size) blocks (size None: whole slices)."""
    n, h, w = stack.shape
    if n < depth:
        return stack.new_zeros((0, 1, depth, size or h, size or w))
    zs = range(0, n - depth + 1, depth if size is None else max(1, depth // 2))
    out = []
    for z in zs:
        block = stack[z : z + depth]
        if size is None:
            out.append(block.unsqueeze(0))
            continue
        tiles = block.unfold(1, size, stride).unfold(2, size, stride)  # (d, nh, nw, s, s)
        out.append(tiles.permute(1, 2, 0, 3, 4).reshape(-1, depth, size, size))
    return torch.cat(out).unsqueeze(1) if out else stack.new_zeros((0, 1, depth, size or h,
                                                                     size or w))


def load_train_data_3d(cfg: DataConfig) -> TrainData:
    """3-D training data for volumetric networks (DCSRN): ``data.patch_depth`` consecutive
    axial slices per patch.

    The LR simulation stays in-plane (SPEC section 4, as for the 2-D networks): each HR slice is
    degraded and bicubic-upscaled, and the network sees ``(patch_depth, patch, patch)`` blocks
    of consecutive slices (depth overlap of half a block, in-plane stride ``data.stride``).
    Validation uses non-overlapping whole-slice blocks of the validation subjects. Blocks that
    are nearly all background are dropped by the same rule as 2-D patches. Sharp/smooth patches
    are not prepared (the sharpness priors act on 2-D slices: use NP or LR with 3-D nets).

    Raises:
        InputError: If a stack is thinner than ``patch_depth``.
    """
    import itertools

    import numpy as np

    from dnsp.data.datasets import load_eval_slices
    from dnsp.data.degradation import bicubic_upscale_slices
    from dnsp.data.patches import MIN_PATCH_FOREGROUND

    spec = data_spec(cfg)
    depth = int(cfg.patch_depth or 1)
    fg = MIN_PATCH_FOREGROUND if cfg.min_patch_foreground is None else cfg.min_patch_foreground

    def stacks(split: str) -> list[tuple[Tensor, Tensor]]:
        hr, lr, subjects, _ = load_eval_slices(spec, split)
        up = lr if spec.source == "pairs" else bicubic_upscale_slices(lr, spec.scale)
        out, start = [], 0
        for _, group in itertools.groupby(subjects):
            n = len(list(group))
            if n < depth:
                raise InputError(f"data.patch_depth {depth} exceeds a stack of {n} slices")
            out.append((torch.from_numpy(np.ascontiguousarray(up[start : start + n])),
                        torch.from_numpy(np.ascontiguousarray(hr[start : start + n]))))
            start += n
        return out

    train = [(_blocks(x, depth, cfg.patch, cfg.stride), _blocks(y, depth, cfg.patch, cfg.stride))
             for x, y in stacks("train")]
    ti = torch.cat([x for x, _ in train])
    tt = torch.cat([y for _, y in train])
    keep = (tt > 0.1).float().mean(dim=(1, 2, 3, 4)) >= fg
    ti, tt = ti[keep], tt[keep]
    if cfg.train_fraction < 1 or cfg.max_patches is not None:
        n = ti.shape[0]
        m = max(1, round(cfg.train_fraction * n))
        if cfg.max_patches is not None:
            m = min(m, cfg.max_patches)
        g = torch.Generator().manual_seed(cfg.seed)
        idx = torch.randperm(n, generator=g)[:m].sort().values
        ti, tt = ti[idx], tt[idx]
    if ti.shape[0] == 0:
        raise InputError("no 3-D training patch has enough foreground; lower data.patch_depth")
    val = [(_blocks(x, depth, None, 1), _blocks(y, depth, None, 1)) for x, y in stacks("val")]
    vi = torch.cat([x for x, _ in val])
    vt = torch.cat([y for _, y in val])
    if vi.shape[0] == 0:
        raise InputError("the validation split is empty; raise data.val_fraction")
    return TrainData(ti, tt, vi, vt).subset(None, cfg.max_val_slices)
