"""The dihedral group D4 of the square (8 flips/90-degree rotations) on the last two axes.

Used by training augmentation (:mod:`dnsp.data.augment`) and by the self-ensemble at
inference (:class:`dnsp.methods.network.NetworkMethod`).
"""

from __future__ import annotations

import torch

__all__ = ["N_DIHEDRAL", "dihedral_inverse", "dihedral_transform"]

#: Number of elements of the dihedral group of the square.
N_DIHEDRAL = 8


def dihedral_transform(x: torch.Tensor, index: int) -> torch.Tensor:
    """Element ``index`` (0-7) of D4 on the last two axes: rotate by ``index % 4`` quarter turns,
    then, for ``index >= 4``, flip the last axis.

    Args:
        x: Tensor ``(..., H, W)``; ``H == W`` unless ``index % 4`` is 0 or 2.
        index: Integer in [0, 8).

    Returns:
        The transformed tensor (a new tensor; ``(..., W, H)`` for odd quarter turns).

    Raises:
        ValueError: For an index outside [0, 8) or a tensor with fewer than 2 axes.
    """
    if not 0 <= index < N_DIHEDRAL:
        raise ValueError(f"index must be in [0, {N_DIHEDRAL}), got {index}")
    if x.ndim < 2:
        raise ValueError(f"x needs at least 2 axes, got shape {tuple(x.shape)}")
    out = torch.rot90(x, index % 4, (-2, -1))
    return out.flip(-1) if index >= 4 else out


def dihedral_inverse(index: int) -> int:
    """Index of the inverse of element ``index`` of :func:`dihedral_transform`.

    Rotations (0-3) invert to the opposite rotation; the reflections (4-7) are their own
    inverses.

    Raises:
        ValueError: For an index outside [0, 8).
    """
    if not 0 <= index < N_DIHEDRAL:
        raise ValueError(f"index must be in [0, {N_DIHEDRAL}), got {index}")
    return (-index) % 4 if index < 4 else index
