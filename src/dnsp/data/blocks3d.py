"""3-D training data for volumetric networks (DCSRN): blocks of consecutive axial slices.

The option ``patch_depth`` of :class:`~dnsp.data.spec.SRDataSpec`. The LR simulation stays
in-plane (SPEC section 4, as for the 2-D networks): each HR slice is degraded and
bicubic-upscaled (:mod:`dnsp.data.stacks`), and the network sees ``(patch_depth, patch, patch)``
blocks of consecutive slices (depth overlap of half a block, in-plane stride ``stride``).
Validation uses non-overlapping whole-slice blocks of the validation subjects. Blocks that are
nearly all background are dropped by the 2-D patch rule (``min_patch_foreground``).
Sharp/smooth patches are not prepared (the sharpness priors act on 2-D slices: use NP or LR
with 3-D nets), and the result is not cached.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import torch
from torch import Tensor

from dnsp.data.slicing import FG_THRESHOLD
from dnsp.data.sources import get_source
from dnsp.data.spec import SRData, SRDataSpec
from dnsp.data.stacks import load_eval_slices, slices_input
from dnsp.errors import InputError

__all__ = ["blocks", "prepare_blocks"]


def blocks(stack: Tensor, depth: int, size: int | None, stride: int) -> Tensor:
    """Cut a (N, H, W) stack into (B, 1, depth, size, size) blocks (size None: whole slices).

    Whole-slice blocks do not overlap in depth; patch blocks overlap by half a block.
    """
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


def _stacks(spec: SRDataSpec, split: str) -> list[tuple[str, int, Tensor, Tensor]]:
    """``(subject, first slice id, input stack, HR stack)`` per subject of ``split``."""
    depth = int(spec.patch_depth or 1)
    hr, lr, subjects, ids = load_eval_slices(spec, split)
    up = slices_input(hr, lr, spec, get_source(spec.source).paired)
    out, start = [], 0
    for sid, group in itertools.groupby(subjects):
        n = len(list(group))
        if n < depth:
            raise InputError(f"data.patch_depth {depth} exceeds a stack of {n} slices")
        out.append((sid, ids[start],
                    torch.from_numpy(np.ascontiguousarray(up[start : start + n])),
                    torch.from_numpy(np.ascontiguousarray(hr[start : start + n]))))
        start += n
    return out


def prepare_blocks(spec: SRDataSpec) -> SRData:
    """The :class:`SRData` of ``spec`` as 3-D blocks (``spec.patch_depth`` must be set).

    ``train_fraction`` and ``max_patches`` draw training blocks with ``seed``; the validation
    subject/slice lists give each validation block's subject and first axial slice.

    Raises:
        InputError: A stack thinner than ``patch_depth``, no training block with enough
            foreground, or an empty validation split.
    """
    if spec.patch_depth is None:
        raise ValueError("prepare_blocks needs spec.patch_depth")
    depth = int(spec.patch_depth)
    train = [(blocks(x, depth, spec.patch, spec.stride), blocks(y, depth, spec.patch, spec.stride))
             for _, _, x, y in _stacks(spec, "train")]
    ti = torch.cat([x for x, _ in train])
    tt = torch.cat([y for _, y in train])
    keep = (tt > FG_THRESHOLD).float().mean(dim=(1, 2, 3, 4)) >= spec.min_patch_foreground
    ti, tt = ti[keep], tt[keep]
    if spec.train_fraction < 1 or spec.max_patches is not None:
        n = ti.shape[0]
        m = max(1, round(spec.train_fraction * n))
        if spec.max_patches is not None:
            m = min(m, spec.max_patches)
        g = torch.Generator().manual_seed(spec.seed)
        idx = torch.randperm(n, generator=g)[:m].sort().values
        ti, tt = ti[idx], tt[idx]
    if ti.shape[0] == 0:
        raise InputError("no 3-D training patch has enough foreground; lower data.patch_depth")
    val = [(sid, first, blocks(x, depth, None, 1), blocks(y, depth, None, 1))
           for sid, first, x, y in _stacks(spec, "val")]
    vi = torch.cat([x for _, _, x, _ in val])
    vt = torch.cat([y for _, _, _, y in val])
    if vi.shape[0] == 0:
        raise InputError("the validation split is empty; raise data.val_fraction")
    empty = torch.zeros((0, 1, spec.sharp_patch, spec.sharp_patch))
    return SRData(
        train_inputs=ti, train_targets=tt, val_inputs=vi, val_targets=vt,
        sharp=empty, smooth=empty.clone(),
        val_subjects=[sid for sid, _, x, _ in val for _ in range(x.shape[0])],
        val_slices=[first + depth * b for _, first, x, _ in val for b in range(x.shape[0])],
        meta={"spec": dataclasses.asdict(spec), "n_patches": int(ti.shape[0]), "dims": 3},
    )

