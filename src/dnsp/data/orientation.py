"""The anatomical axial plane of a volume, found from its affine (SPEC section 4).

The SR plane is the axial plane: its two voxel axes are the ones closest to the world R-L and
A-P directions; the third (closest to S-I) indexes slices. Axial stacks are pure transpositions
of the volume (no flipping, no resampling), so the input's voxel order is kept in every output.

Convention: in an axial stack ``(N, H, W)``, N runs along the slice axis, H (rows) along the
voxel axis closest to A-P and W (columns) along the voxel axis closest to R-L.
"""

from __future__ import annotations

import numpy as np

__all__ = ["axial_axes", "from_axial_stack", "stack_permutation", "to_axial_stack"]


def axial_axes(affine: np.ndarray) -> tuple[int, int, int]:
    """Voxel axes of the axial plane.

    Each voxel axis is assigned to one world axis (R-L, A-P, S-I) by maximising the summed
    absolute direction cosines over the six one-to-one assignments, so oblique acquisitions
    are handled and no two voxel axes get the same world axis.

    Args:
        affine: (4, 4) voxel-to-world matrix (RAS+).

    Returns:
        ``(row_axis, col_axis, slice_axis)``: voxel axes closest to A-P, R-L and S-I.
    """
    a = np.asarray(affine, dtype=np.float64)
    if a.shape not in ((4, 4), (3, 3)):
        raise ValueError(f"affine must be (4, 4), got {a.shape}")
    rot = a[:3, :3]
    norms = np.linalg.norm(rot, axis=0)
    if np.any(norms <= 0) or not np.all(np.isfinite(rot)):
        raise ValueError("affine has a zero-length or non-finite voxel axis")
    cos = np.abs(rot / norms[None, :])  # cos[world, voxel]
    perms = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
    # best[w] = voxel axis assigned to world axis w
    best = max(perms, key=lambda p: (sum(cos[w, p[w]] for w in range(3)), p == (0, 1, 2)))
    rl, ap, si = best
    return int(ap), int(rl), int(si)


def stack_permutation(affine: np.ndarray) -> tuple[int, int, int]:
    """Transposition that maps the volume's voxel axes to ``(slice, row, col)``."""
    row, col, sl = axial_axes(affine)
    return sl, row, col


def to_axial_stack(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """View a volume as a stack of axial slices ``(N, H, W)`` (a transposition, no copy)."""
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise ValueError(f"data must be 3-D, got shape {tuple(arr.shape)}")
    return np.transpose(arr, stack_permutation(affine))


def from_axial_stack(stack: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`to_axial_stack` for the same affine (voxel order restored)."""
    arr = np.asarray(stack)
    if arr.ndim != 3:
        raise ValueError(f"stack must be 3-D (N, H, W), got shape {tuple(arr.shape)}")
    return np.transpose(arr, np.argsort(stack_permutation(affine)))
