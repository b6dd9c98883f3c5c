"""Volume-level LR simulation and bicubic upscaling with affines (SPEC section 4).

The acquisition models live in :mod:`dnsp.acquisition` (the paper's Gaussian + block mean by
default, k-space truncation, noise, ...); here they act on the axial plane of a volume
(found from its affine, :mod:`dnsp.data.orientation`) and the affine follows the rule of SPEC
section 4: an LR voxel ``i`` sits at HR coordinate ``s * i + (s - 1) / 2`` and an upscaled
voxel ``j`` at LR coordinate ``(j + 0.5) / s - 0.5`` along each in-plane axis.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from dnsp.acquisition import Acquisition, default_acquisition
from dnsp.data.orientation import axial_axes, from_axial_stack, to_axial_stack
from dnsp.ops import (
    bicubic_upscale,
    check_scale,
    crop_to_multiple,
    downscale_affine,
    upscale_affine,
)
from dnsp.ops.slice_profile import fine_count, thick_count

__all__ = [
    "bicubic_upscale_slices",
    "bicubic_upscale_volume",
    "crop_volume_to_multiple",
    "degrade_slices",
    "degrade_volume",
]

_CHUNK = 64


def _apply_chunked(stack: np.ndarray, fn, scale: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    outs = []
    for start in range(0, stack.shape[0], _CHUNK):
        part = torch.from_numpy(np.ascontiguousarray(stack[start:start + _CHUNK], np.float32))
        outs.append(fn(part, scale).numpy())
    return np.concatenate(outs, axis=0).astype(np.float32, copy=False)


def _acquisition(scale: int, acquisition: Acquisition | None) -> Acquisition:
    if acquisition is None:
        return default_acquisition(scale)
    if acquisition.scale != scale:
        raise ValueError(f"acquisition {acquisition.describe()} does not have scale {scale}")
    return acquisition


def degrade_slices(hr: np.ndarray, scale: int, acquisition: Acquisition | None = None,
                   seed: int | None = 0) -> np.ndarray:
    """LR simulation of 2-D slices ``(N, H, W)`` or one slice ``(H, W)``.

    Args:
        hr: HR slices (float).
        scale: Integer factor s >= 2.
        acquisition: The model (``None``: :func:`dnsp.acquisition.default_acquisition`, the
            paper's; bit-identical to :func:`dnsp.ops.degrade` chunk by chunk).
        seed: Seed of the model's noise (the whole stack is acquired at once when the model
            adds noise, so that its level refers to the stack's 99.9th percentile).

    Returns:
        ``(N, H // s, W // s)`` float32 LR slices.
    """
    s = check_scale(scale, 2)
    arr = np.asarray(hr, dtype=np.float32)
    if arr.ndim == 2:
        return degrade_slices(arr[None], s, acquisition, seed)[0]
    if arr.ndim != 3:
        raise ValueError(f"slices must be (H, W) or (N, H, W), got shape {tuple(arr.shape)}")
    acq = _acquisition(s, acquisition)  # None: the default model, the paper's
    gen = None if seed is None else torch.Generator().manual_seed(int(seed))
    if acq.noise > 0 or not acq.linear:
        return acq.simulate(torch.from_numpy(arr), gen).numpy().astype(np.float32, copy=False)
    return _apply_chunked(arr, lambda x, _s: acq.simulate(x, gen), s)


def bicubic_upscale_slices(lr: np.ndarray, scale: int) -> np.ndarray:
    """Centre-aligned Keys (a = -0.5) bicubic upscaling of ``(N, h, w)`` or ``(h, w)`` slices."""
    s = check_scale(scale, 1)
    arr = np.asarray(lr, dtype=np.float32)
    if arr.ndim == 2:
        return bicubic_upscale_slices(arr[None], s)[0]
    if arr.ndim != 3:
        raise ValueError(f"slices must be (h, w) or (N, h, w), got shape {tuple(arr.shape)}")
    return _apply_chunked(arr, bicubic_upscale, s)


def crop_volume_to_multiple(
    data: np.ndarray, affine: np.ndarray, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """Drop trailing in-plane voxels so both axial axes are multiples of ``scale``.

    The affine is unchanged: the kept voxels keep their indices.
    """
    s = check_scale(scale, 1)
    stack = to_axial_stack(data, affine)
    cropped = crop_to_multiple(torch.from_numpy(np.ascontiguousarray(stack)), s).numpy()
    return from_axial_stack(cropped, affine), np.asarray(affine, dtype=np.float64).copy()


def degrade_volume(
    data: np.ndarray, affine: np.ndarray, scale: int, acquisition: Acquisition | None = None,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate the LR volume of SPEC section 4 in the axial plane.

    With the paper's model (default): crop each in-plane axis to a multiple of ``scale``, blur
    with sigma = s/2, average s x s blocks. Any other :mod:`dnsp.acquisition` model acts on the
    same grid; ``kspace`` refuses an in-plane matrix that the scale does not divide (the
    scanner's matrix is what it is). The slice axis is untouched, except by a model that acts
    along it (``along_slices``: thick slices), which leaves the axial plane untouched instead.

    Args:
        data: 3-D volume in any voxel order.
        affine: Its (4, 4) voxel-to-world matrix.
        scale: Integer factor s >= 2.
        acquisition: The acquisition model (``None``: the paper's ``gaussian``).
        seed: Seed of the model's noise.

    Returns:
        ``(lr, lr_affine)`` in the input's voxel order; ``lr_affine = affine @ T`` with
        T scaling the in-plane axes by s and shifting them by (s - 1)/2 HR voxels.

    Raises:
        ValueError: A bad scale, or a ``kspace`` matrix that the scale does not divide.
    """
    s = check_scale(scale, 2)
    row, col, slice_axis = axial_axes(affine)
    if acquisition is not None and acquisition.along_slices:
        return _thick_slices(data, affine, slice_axis, acquisition, seed)
    stack = to_axial_stack(data, affine)
    if acquisition is not None and acquisition.exact_matrix and (
            stack.shape[1] % s or stack.shape[2] % s):
        raise ValueError(f"the in-plane matrix {stack.shape[1]} x {stack.shape[2]} is not a "
                         f"multiple of the scale {s}, which k-space truncation needs")
    lr = degrade_slices(stack, s, acquisition, seed)
    return from_axial_stack(lr, affine), downscale_affine(affine, s, axes=(row, col))


def _thick_slices(data: np.ndarray, affine: np.ndarray, axis: int, acquisition: Acquisition,
                  seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A model that acts along the slice axis (thick slices) on voxel axis ``axis``: the
    volume is cropped to the slices the model fills exactly, then acquired (SPEC section 4
    extended to one axis: the thick and fine fields of view share their centre)."""
    acq = copy.copy(acquisition)
    acq.axis = axis
    n = int(np.asarray(data).shape[axis])
    ratio = float(getattr(acq, "ratio", 1.0))
    keep = fine_count(thick_count(n, ratio), ratio)
    hr = np.ascontiguousarray(np.take(np.asarray(data, np.float32), np.arange(keep), axis=axis))
    gen = None if seed is None else torch.Generator().manual_seed(int(seed))
    lr = acq.simulate(torch.from_numpy(hr), gen).numpy().astype(np.float32, copy=False)
    return lr, acq.lr_affine(affine, [axis], size=keep)


def bicubic_upscale_volume(
    data: np.ndarray, affine: np.ndarray, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bicubic (Keys a = -0.5, centre-aligned) upscaling of the axial plane by ``scale``.

    Returns:
        ``(up, up_affine)``; ``up_affine = affine @ T`` with T scaling the in-plane axes by
        1/s and shifting them by (1/s - 1)/2 voxel (SPEC section 4).
    """
    s = check_scale(scale, 1)
    row, col, _ = axial_axes(affine)
    stack = to_axial_stack(data, affine)
    up = bicubic_upscale_slices(stack, s)
    return from_axial_stack(up, affine), upscale_affine(affine, s, axes=(row, col))
