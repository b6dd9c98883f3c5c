"""Slice profiles and the thick-slice grid along one axis (docs/through_plane.md).

A 2-D multi-slice scan samples the slice axis with thick slices: slice ``k`` is the fine
image along that axis weighted by the slice profile (its sensitivity as a function of
position) centred on the slice, and the slices are ``spacing`` apart (``thickness <
spacing``: gaps; ``thickness > spacing``: overlap). Everything here is in units of *fine
voxels* along that axis: ``ratio = spacing / fine_spacing`` and ``width = thickness /
fine_spacing`` may be any positive numbers (non-integer ratios included).

Grid rule (SPEC section 4 extended to one axis and non-integer ratios): a fine grid of ``n``
voxels and a thick grid of ``m`` slices share the centre of their field of view, so

* thick slice ``k`` sits at fine coordinate ``(n - 1)/2 + (k - (m - 1)/2) * ratio``
  (:func:`thick_positions`; ``m = floor(n / ratio)``: the thick field of view ``m * ratio``
  lies inside the fine one);
* fine voxel ``j`` sits at thick coordinate ``(m - 1)/2 + (j - (n - 1)/2) / ratio``
  (:func:`fine_positions`; ``n = ceil(m * ratio)``: the fine field of view covers the thick
  one and exceeds it by less than one fine voxel, half on each side).

For ``n = m * ratio`` (always so for an integer ratio dividing ``n``) both reduce to SPEC
section 4: thick voxel ``k`` at ``s*k + (s - 1)/2``, fine voxel ``j`` at ``(j + 0.5)/s - 0.5``.
The two rules invert each other, so re-acquiring an upsampled volume gives the input's grid.

Profiles (:data:`PROFILES`): ``rect`` (a box of the slice thickness), ``gaussian`` (FWHM =
thickness) and sampled profiles (:func:`read_profile`); every row of
:func:`profile_matrix` is the profile integrated over each fine voxel (a fine voxel is a box
of one fine spacing), normalised to sum 1 (so means are preserved; at the ends of the axis
the part of the profile outside the field of view is dropped and the rest renormalised).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.ndimage import map_coordinates
from scipy.special import ndtr

__all__ = [
    "PROFILES",
    "bspline_matrix",
    "check_samples",
    "fine_affine",
    "fine_count",
    "fine_positions",
    "profile_matrix",
    "read_profile",
    "resample_axis",
    "thick_affine",
    "thick_count",
    "thick_positions",
]

#: Named slice profiles (a sampled profile is given as an array or a file instead).
PROFILES = ("rect", "gaussian")
#: FWHM / sigma of a Gaussian.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_EPS = 1e-4  # counts tolerate the float32 rounding of header spacings
_QUADRATURE = 32  # sub-samples per fine voxel for a sampled profile


def _positive(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be a number > 0, got {value!r}")
    out = float(value)
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    return out


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    return int(value)


def thick_count(n: int, ratio: float) -> int:
    """Number of thick slices ``floor(n / ratio)`` a fine axis of ``n`` voxels holds.

    Raises:
        ValueError: For a bad ``n`` or ``ratio``, or fewer than one slice.
    """
    n, r = _count(n, "n"), _positive(ratio, "ratio")
    m = math.floor(n / r + _EPS)
    if m < 1:
        raise ValueError(f"an axis of {n} voxels holds no slice {r:g} voxels apart")
    return m


def fine_count(m: int, ratio: float) -> int:
    """Number of fine voxels ``ceil(m * ratio)`` that cover ``m`` thick slices."""
    m, r = _count(m, "m"), _positive(ratio, "ratio")
    return max(1, math.ceil(m * r - _EPS))


def thick_positions(n: int, ratio: float) -> np.ndarray:
    """Fine coordinates of the thick slice centres, ``(m,)`` (module docstring)."""
    m = thick_count(n, ratio)
    return (n - 1) / 2.0 + (np.arange(m) - (m - 1) / 2.0) * float(ratio)


def fine_positions(m: int, ratio: float, n: int | None = None) -> np.ndarray:
    """Thick coordinates of the fine voxel centres, ``(n,)``; ``n`` defaults to
    :func:`fine_count`."""
    r = _positive(ratio, "ratio")
    m = _count(m, "m")
    n = fine_count(m, r) if n is None else _count(n, "n")
    return (m - 1) / 2.0 + (np.arange(n) - (n - 1) / 2.0) / r


def _axis_transform(affine: np.ndarray, axis: int, scale: float, shift: float) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4):
        raise ValueError(f"affine must be (4, 4), got {a.shape}")
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be a voxel axis 0, 1 or 2, got {axis!r}")
    t = np.eye(4)
    t[axis, axis] = scale
    t[axis, 3] = shift
    return a @ t


def thick_affine(affine: np.ndarray, axis: int, n: int, ratio: float) -> np.ndarray:
    """Affine of the thick volume acquired from a fine one of ``n`` voxels along ``axis``."""
    m = thick_count(n, ratio)
    return _axis_transform(affine, axis, float(ratio), (n - 1) / 2.0 - (m - 1) * ratio / 2.0)


def fine_affine(affine: np.ndarray, axis: int, m: int, ratio: float,
                n: int | None = None) -> np.ndarray:
    """Affine of the fine grid (``n`` voxels, default :func:`fine_count`) of a thick volume."""
    r = _positive(ratio, "ratio")
    n = fine_count(m, r) if n is None else _count(n, "n")
    return _axis_transform(affine, axis, 1.0 / r, (m - 1) / 2.0 - (n - 1) / (2.0 * r))


def read_profile(path: str | os.PathLike[str], thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """Read a sampled slice profile from a text file.

    Two columns: position (mm from the slice centre) and weight. One column: weights at
    evenly spaced positions spanning ``[-thickness, +thickness]`` (twice the nominal
    thickness, room for the tails). ``#`` starts a comment; commas or blanks separate.

    Returns:
        ``(positions_mm, weights)`` sorted by position.

    Raises:
        ValueError: Unreadable file, fewer than 2 samples, negative or all-zero weights.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        rows = [ln.split("#")[0].replace(",", " ").split() for ln in text.splitlines()]
        table = np.array([[float(v) for v in r] for r in rows if r], dtype=np.float64)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"slice profile file {p} is unreadable: {exc}") from None
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] not in (1, 2):
        raise ValueError(f"slice profile file {p} must hold >= 2 rows of 1 or 2 numbers")
    t = _positive(thickness, "thickness")
    if table.shape[1] == 1:
        pos, w = np.linspace(-t, t, table.shape[0]), table[:, 0]
    else:
        order = np.argsort(table[:, 0])
        pos, w = table[order, 0], table[order, 1]
    check_samples(pos, w)
    return pos, w


def check_samples(positions: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray
                  ) -> None:
    """Validate a sampled profile: >= 2 finite increasing positions, weights >= 0, not all 0."""
    pos, w = np.asarray(positions, np.float64), np.asarray(weights, np.float64)
    if pos.ndim != 1 or pos.shape != w.shape or pos.size < 2:
        raise ValueError("a sampled slice profile needs >= 2 positions and as many weights")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(w))):
        raise ValueError("a sampled slice profile must be finite")
    if np.any(np.diff(pos) <= 0):
        raise ValueError("the positions of a sampled slice profile must increase")
    if np.any(w < 0) or not np.any(w > 0):
        raise ValueError("slice profile weights must be >= 0 and not all zero")


def profile_matrix(
    n: int,
    ratio: float,
    width: float,
    profile: str = "rect",
    samples: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The ``(m, n)`` thick-slice acquisition along one axis, in fine-voxel units.

    Args:
        n: Fine voxels along the axis.
        ratio: Slice spacing in fine voxels (> 0, any real).
        width: Slice thickness in fine voxels (rect: the box width; gaussian: the FWHM).
        profile: ``rect``, ``gaussian`` or ``sampled`` (then ``samples`` is required).
        samples: ``(positions, weights)`` of a sampled profile, positions in fine voxels
            from the slice centre (linear between samples, zero outside).

    Returns:
        float64 matrix whose rows sum to 1.

    Raises:
        ValueError: Bad sizes, ratio, width, profile name or samples.
    """
    r, t = _positive(ratio, "ratio"), _positive(width, "width")
    centres = thick_positions(n, r)
    lo = np.arange(n, dtype=np.float64)[None, :] - 0.5 - centres[:, None]
    hi = lo + 1.0
    if profile == "rect":
        mat = np.clip(np.minimum(hi, t / 2) - np.maximum(lo, -t / 2), 0.0, None)
    elif profile == "gaussian":
        sigma = t / FWHM_PER_SIGMA
        mat = ndtr(hi / sigma) - ndtr(lo / sigma)
    elif profile == "sampled":
        if samples is None:
            raise ValueError("profile 'sampled' needs samples=(positions, weights)")
        pos, w = (np.asarray(a, np.float64) for a in samples)
        check_samples(pos, w)
        sub = (np.arange(_QUADRATURE) + 0.5) / _QUADRATURE
        x = lo[..., None] + sub
        mat = np.interp(x, pos, w, left=0.0, right=0.0).mean(axis=-1)
    else:
        raise ValueError(f"unknown slice profile {profile!r}; valid profiles: "
                         f"{', '.join(PROFILES)} or a profile file")
    sums = mat.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError(f"the slice profile (width {t:g} voxels) misses every voxel of a slice")
    return mat / sums


def bspline_matrix(m: int, positions: np.ndarray, order: int = 3) -> np.ndarray:
    """``(len(positions), m)`` matrix of B-spline interpolation of ``m`` samples.

    SciPy's interpolating B-spline (``map_coordinates``, prefiltered, ``mode="reflect"``:
    half-sample symmetric, the extension of a centre-aligned grid) evaluated at
    ``positions`` (sample coordinates; :func:`fine_positions`).
    """
    m = _count(m, "m")
    pos = np.asarray(positions, np.float64)[None, :]
    out = np.empty((pos.shape[1], m), dtype=np.float64)
    for k in range(m):
        e = np.zeros(m)
        e[k] = 1.0
        out[:, k] = map_coordinates(e, pos, order=order, mode="reflect")
    return out


def resample_axis(x: np.ndarray, mat: np.ndarray, axis: int) -> np.ndarray:
    """Apply the ``(n_out, n_in)`` matrix ``mat`` along ``axis`` of ``x`` (float32 out)."""
    arr = np.asarray(x)
    moved = np.moveaxis(arr, axis, -1).astype(np.float32, copy=False)
    out = moved @ np.asarray(mat, dtype=np.float32).T
    return np.moveaxis(out, -1, axis)
