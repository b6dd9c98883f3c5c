"""Choosing the axial slices of a stack (paper Sec. IV-A; SPEC section 4; data README splits).

* Multi-subject sources: from each stack the ``n`` consecutive axial slices centred on the
  brain (foreground centre of mass of the top 130 mm of the head, which excludes neck and
  face), keeping only slices that contain foreground.
* A single volume (the BrainWeb phantom, one user volume): three disjoint slabs along the
  slice axis, training (lower) - 5 slices - validation - 5 slices - test (upper), so training
  and test slabs are separated by at least 10 slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "FG_THRESHOLD",
    "SLAB_MARGIN",
    "SlabLayout",
    "central_slices",
    "foreground_fraction",
    "slab_layout",
]

#: Background threshold on [0, 1]-scaled intensities (SPEC sec. 2 scaling): above is foreground.
FG_THRESHOLD = 0.1
#: Minimum foreground fraction of a slice that "contains brain".
MIN_SLICE_FOREGROUND = 0.05
#: Extent of the brain below the vertex (mm) used to centre the slice window.
BRAIN_DEPTH_MM = 130.0
#: Slices left between consecutive slabs of a single-volume split.
SLAB_MARGIN = 5


def foreground_fraction(stack: np.ndarray, threshold: float = FG_THRESHOLD) -> np.ndarray:
    """Fraction of pixels above ``threshold`` in each slice of a ``(N, H, W)`` stack."""
    arr = np.asarray(stack)
    if arr.ndim != 3:
        raise ValueError(f"stack must be (N, H, W), got shape {tuple(arr.shape)}")
    return (arr > threshold).mean(axis=(1, 2))


def central_slices(
    stack: np.ndarray, n: int, threshold: float = FG_THRESHOLD,
    min_foreground: float = MIN_SLICE_FOREGROUND, slice_mm: float | None = None,
    superior_is_high: bool = True, brain_depth_mm: float = BRAIN_DEPTH_MM,
) -> np.ndarray:
    """Indices of ``n`` consecutive slices centred on the brain, skipping empty slices.

    The brain is taken to be the part of the head within ``brain_depth_mm`` of the vertex
    (the most superior slice with foreground), which leaves out the neck and the face of
    scans with a large field of view. The centre is the foreground-weighted mean slice index
    of that part; the window is shifted to stay inside the slices whose foreground fraction
    is at least ``min_foreground``. If fewer than ``n`` slices contain foreground, all of
    them are returned.

    Args:
        stack: Axial stack (N, H, W) scaled to [0, 1].
        n: Number of slices wanted (the paper uses 40).
        threshold: Foreground intensity threshold.
        min_foreground: Minimum foreground fraction of a non-empty slice.
        slice_mm: Slice spacing in mm; ``None`` uses the whole head for the centre.
        superior_is_high: Whether the slice index grows towards the vertex.
        brain_depth_mm: Extent below the vertex used to find the centre.

    Returns:
        Sorted slice indices (int64).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    frac = foreground_fraction(stack, threshold)
    full = np.nonzero(frac >= min_foreground)[0]
    if full.size <= n:
        return full.astype(np.int64)
    lo, hi = int(full.min()), int(full.max()) + 1
    c_lo, c_hi = lo, hi
    if slice_mm is not None and slice_mm > 0:
        depth = round(brain_depth_mm / slice_mm)
        if superior_is_high:
            c_lo = max(lo, hi - depth)
        else:
            c_hi = min(hi, lo + depth)
    weights = frac[c_lo:c_hi]
    centre = float((np.arange(c_lo, c_hi) * weights).sum() / weights.sum())
    start = round(centre - n / 2.0)
    start = min(max(start, lo), hi - n)
    idx = np.arange(start, start + n)
    return idx[frac[idx] >= min_foreground].astype(np.int64)


@dataclass(frozen=True)
class SlabLayout:
    """Disjoint slice slabs of a single volume: train (lower), validation, test (upper)."""

    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]


def slab_layout(stack: np.ndarray, n: int, n_val: int, margin: int = SLAB_MARGIN,
                threshold: float = FG_THRESHOLD) -> SlabLayout:
    """Split one volume's axial slices into lower training and upper test slabs.

    Layout along the slice axis (increasing index): ``n`` training slices, ``margin``
    skipped, ``n_val`` validation slices, ``margin`` skipped, ``n`` test slices; the block is
    centred on the foreground centre of mass and shifted to fit in the volume. Train and test
    are separated by ``2 * margin + n_val >= 10`` slices. If the volume is too short, ``n`` is
    reduced.

    Args:
        stack: Axial stack (N, H, W) scaled to [0, 1].
        n: Slices per training/test slab.
        n_val: Validation slices (0 for none; the margins still separate train and test).
        margin: Slices skipped between slabs.
        threshold: Foreground intensity threshold.

    Returns:
        The :class:`SlabLayout` of slice indices.
    """
    if n < 1 or n_val < 0 or margin < 0:
        raise ValueError(f"invalid slab sizes n={n}, n_val={n_val}, margin={margin}")
    total_slices = stack.shape[0]
    gap = 2 * margin + n_val
    if gap < 10:
        margin = margin + (10 - gap + 1) // 2
        gap = 2 * margin + n_val
    n_fit = min(n, (total_slices - gap) // 2)
    if n_fit < 1:
        raise ValueError(f"a volume of {total_slices} slices is too short for a slab split")
    total = 2 * n_fit + gap
    frac = foreground_fraction(stack, threshold)
    if frac.sum() > 0:
        centre = float((np.arange(total_slices) * frac).sum() / frac.sum())
    else:
        centre = total_slices / 2.0
    start = round(centre - total / 2.0)
    start = min(max(start, 0), total_slices - total)
    train = tuple(range(start, start + n_fit))
    val_start = start + n_fit + margin
    val = tuple(range(val_start, val_start + n_val))
    test_start = start + n_fit + gap
    test = tuple(range(test_start, test_start + n_fit))
    return SlabLayout(train=train, val=val, test=test)
