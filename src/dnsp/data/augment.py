"""Training-time augmentation of patch pairs by the flips and 90-degree rotations of the square.

A brain slice has no preferred in-plane orientation that a scan is guaranteed to share with the
training data (left-right mirror images, rotated field of view), so shipped models are trained
on patch pairs transformed by a random element of the dihedral group D4 (the 8 flips/rotations;
the augmentation EDSR uses, Lim et al. 2017). Input and target get the same transform, which
commutes with the degradation of SPEC section 4 when the patch side is a multiple of the scale.
"""

from __future__ import annotations

import torch

from dnsp.ops.dihedral import N_DIHEDRAL, dihedral_transform

__all__ = ["N_DIHEDRAL", "dihedral_transform", "random_dihedral"]


def random_dihedral(
    x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply one random D4 element per sample, the same to input and target.

    Args:
        x: Input patches ``(B, ..., P, P)`` (square in the last two axes).
        y: Target patches of the same shape.
        generator: CPU generator for the draw (seeded by the trainer per step, so a resumed
            run sees the same transforms).

    Returns:
        ``(x', y')`` with sample ``b`` of both transformed by the same element.

    Raises:
        ValueError: If the shapes differ or the patches are not square.
    """
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if x.ndim < 3 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"patches must be square, (B, ..., P, P); got shape {tuple(x.shape)}")
    draw = torch.randint(0, N_DIHEDRAL, (x.shape[0],), generator=generator).to(x.device)
    x_out, y_out = torch.empty_like(x), torch.empty_like(y)
    for index in range(N_DIHEDRAL):
        sel = draw == index
        if bool(sel.any()):
            x_out[sel] = dihedral_transform(x[sel], index)
            y_out[sel] = dihedral_transform(y[sel], index)
    return x_out, y_out
