"""Resizing and the LR simulation of SPEC section 4, as separable linear operators.

Every operator here acts on the last two axes of a tensor (..., H, W) (the in-plane axes of
an axial stack) and is built as an explicit 1-D matrix per axis, so it is exact, works for
any size and any batch of leading axes, and is its own test oracle.

* :func:`bicubic_resize` / :func:`bicubic_upscale`: Keys cubic convolution with a = -0.5,
  centre-aligned (``align_corners=False``): output sample j sits at input coordinate
  (j + 0.5) * n_in / n_out - 0.5. Out-of-range taps are clamped to the edge sample. PyTorch's
  ``interpolate(mode="bicubic")`` uses a = -0.75 and is *not* used.
* :func:`gaussian_blur2d`: Gaussian of standard deviation sigma (HR voxels), truncated at
  4 sigma, half-sample symmetric reflection at borders (SciPy ``mode="reflect"``).
* :func:`block_downsample`: mean over s x s blocks (LR voxel centre = HR block centre).
* :func:`degrade`: crop to a multiple of s, blur with sigma = s / 2, block-average.
* :func:`upscale_affine` / :func:`downscale_affine`: the voxel-to-world rule of SPEC sec. 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from dnsp.ops.scale import check_scale

__all__ = [
    "apply_along_axis",
    "bicubic_matrix",
    "bicubic_resize",
    "bicubic_upscale",
    "block_downsample",
    "crop_to_multiple",
    "degrade",
    "downscale_affine",
    "gaussian_blur2d",
    "gaussian_matrix",
    "keys_kernel",
    "upscale_affine",
]

KEYS_A = -0.5


def keys_kernel(t: np.ndarray, a: float = KEYS_A) -> np.ndarray:
    """Keys (1981) cubic convolution kernel W(t) with parameter ``a`` (a = -0.5 by default)."""
    t = np.abs(np.asarray(t, dtype=np.float64))
    out = np.zeros_like(t)
    m1 = t <= 1
    m2 = (t > 1) & (t < 2)
    out[m1] = (a + 2) * t[m1] ** 3 - (a + 3) * t[m1] ** 2 + 1
    out[m2] = a * t[m2] ** 3 - 5 * a * t[m2] ** 2 + 8 * a * t[m2] - 4 * a
    return out


@lru_cache(maxsize=64)
def _bicubic_matrix_np(n_in: int, n_out: int, a: float) -> np.ndarray:
    j = np.arange(n_out, dtype=np.float64)
    x = (j + 0.5) * (n_in / n_out) - 0.5
    base = np.floor(x).astype(np.int64)
    mat = np.zeros((n_out, n_in), dtype=np.float64)
    for k in range(-1, 3):
        idx = base + k
        w = keys_kernel(x - idx, a)
        np.add.at(mat, (np.arange(n_out), np.clip(idx, 0, n_in - 1)), w)
    mat.setflags(write=False)
    return mat


def bicubic_matrix(
    n_in: int, n_out: int, a: float = KEYS_A, dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """The (n_out, n_in) matrix of centre-aligned Keys cubic interpolation along one axis."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"sizes must be >= 1, got n_in={n_in}, n_out={n_out}")
    return torch.tensor(_bicubic_matrix_np(int(n_in), int(n_out), float(a)), dtype=dtype,
                           device=device)


def apply_along_axis(x: Tensor, mat: Tensor, axis: int) -> Tensor:
    """Apply the linear operator ``mat`` (n_out, n_in) along ``axis`` of ``x``."""
    x_moved = x.movedim(axis, -1)
    out = torch.matmul(x_moved, mat.to(dtype=x.dtype, device=x.device).T)
    return out.movedim(-1, axis)


def bicubic_resize(x: Tensor, size: Sequence[int], a: float = KEYS_A) -> Tensor:
    """Resize the last two axes of ``x`` (..., H, W) to ``size`` with Keys bicubic (a = -0.5).

    Args:
        x: Floating-point tensor (..., H, W).
        size: Output (H_out, W_out).
        a: Keys parameter; -0.5 is the cubic-convolution interpolant of the paper.

    Returns:
        Tensor (..., H_out, W_out) of the same dtype.
    """
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions, got shape {tuple(x.shape)}")
    if len(size) != 2:
        raise ValueError(f"size must be (H_out, W_out), got {size!r}")
    h, w = x.shape[-2:]
    out = apply_along_axis(x, bicubic_matrix(h, int(size[0]), a), -2)
    return apply_along_axis(out, bicubic_matrix(w, int(size[1]), a), -1)


def bicubic_upscale(x: Tensor, scale: int, a: float = KEYS_A) -> Tensor:
    """Upscale the last two axes by the integer ``scale`` with centre-aligned Keys bicubic."""
    s = check_scale(scale)
    return bicubic_resize(x, (x.shape[-2] * s, x.shape[-1] * s), a)


@lru_cache(maxsize=64)
def _gaussian_matrix_np(n: int, sigma: float, truncate: float) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    mat = np.zeros((n, n), dtype=np.float64)
    rows = np.arange(n)
    for off, w in zip(offsets, kernel, strict=True):
        idx = rows + off
        # half-sample symmetric reflection (d c b a | a b c d | d c b a), period 2n
        idx = np.mod(idx, 2 * n)
        idx = np.where(idx >= n, 2 * n - 1 - idx, idx)
        np.add.at(mat, (rows, idx), w)
    mat.setflags(write=False)
    return mat


def gaussian_matrix(
    n: int, sigma: float, truncate: float = 4.0, dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """The (n, n) matrix of a truncated Gaussian blur with symmetric-reflect borders."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    return torch.tensor(_gaussian_matrix_np(int(n), float(sigma), float(truncate)),
                           dtype=dtype, device=device)


def gaussian_blur2d(x: Tensor, sigma: float, truncate: float = 4.0) -> Tensor:
    """Blur the last two axes of ``x`` with an isotropic Gaussian (matches SciPy ``reflect``)."""
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions, got shape {tuple(x.shape)}")
    out = apply_along_axis(x, gaussian_matrix(x.shape[-2], sigma, truncate), -2)
    return apply_along_axis(out, gaussian_matrix(x.shape[-1], sigma, truncate), -1)


def crop_to_multiple(x: Tensor, scale: int) -> Tensor:
    """Drop trailing rows/columns so that H and W are multiples of ``scale``."""
    s = check_scale(scale)
    h, w = (x.shape[-2] // s) * s, (x.shape[-1] // s) * s
    if h == 0 or w == 0:
        raise ValueError(f"image {tuple(x.shape[-2:])} is smaller than the scale {s}")
    return x[..., :h, :w]


def block_downsample(x: Tensor, scale: int) -> Tensor:
    """Average non-overlapping ``scale`` x ``scale`` blocks of the last two axes."""
    s = check_scale(scale)
    x = crop_to_multiple(x, s)
    h, w = x.shape[-2] // s, x.shape[-1] // s
    return x.reshape(*x.shape[:-2], h, s, w, s).mean(dim=(-3, -1))


def degrade(x: Tensor, scale: int, sigma: float | None = None) -> Tensor:
    """Simulate the LR image of SPEC section 4: crop, Gaussian blur (sigma = s/2), s x s mean.

    Args:
        x: HR images (..., H, W).
        scale: Integer factor s >= 2.
        sigma: Blur in HR voxels; ``None`` means s / 2.

    Returns:
        LR images (..., H // s, W // s).
    """
    s = check_scale(scale)
    if s < 2:
        raise ValueError(f"scale must be >= 2 for degradation, got {s}")
    x = crop_to_multiple(x, s)
    return block_downsample(gaussian_blur2d(x, s / 2.0 if sigma is None else sigma), s)


def _axis_transform(scale: float, axes: Sequence[int], up: bool) -> np.ndarray:
    t = np.eye(4)
    for ax in axes:
        if ax not in (0, 1, 2):
            raise ValueError(f"axes must be voxel axes 0, 1 or 2, got {ax}")
        if up:  # HR voxel j sits at LR coordinate (j + 0.5)/s - 0.5
            t[ax, ax] = 1.0 / scale
            t[ax, 3] = (1.0 / scale - 1.0) / 2.0
        else:  # LR voxel i sits at HR coordinate s*i + (s - 1)/2
            t[ax, ax] = scale
            t[ax, 3] = (scale - 1.0) / 2.0
    return t


def upscale_affine(affine: np.ndarray, scale: int, axes: Sequence[int]) -> np.ndarray:
    """Voxel-to-world affine of a volume upscaled by ``scale`` along voxel ``axes``.

    new_affine = affine @ T, T scaling each axis by 1/s and shifting it by (1/s - 1)/2 voxel.
    """
    s = check_scale(scale)
    return np.asarray(affine, dtype=np.float64) @ _axis_transform(s, axes, up=True)


def downscale_affine(affine: np.ndarray, scale: int, axes: Sequence[int]) -> np.ndarray:
    """Affine of the LR volume made by :func:`degrade` (inverse of :func:`upscale_affine`)."""
    s = check_scale(scale)
    return np.asarray(affine, dtype=np.float64) @ _axis_transform(s, axes, up=False)


