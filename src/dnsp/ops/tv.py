"""Total variation of 2-D images (the TV regulariser of the TVLR ablation, paper Table V)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["total_variation"]


def total_variation(y: Tensor, eps: float = 1e-8, isotropic: bool = True) -> Tensor:
    """Total variation of each image, summed over pixels.

    TV(Y) = sum_ij sqrt((y_{i+1,j} - y_ij)^2 + (y_{i,j+1} - y_ij)^2 + eps) (isotropic, forward
    differences on the common (H-1) x (W-1) grid, eps keeps the gradient finite on flat
    regions) or sum_ij |dy_i| + |dy_j| (anisotropic).

    Args:
        y: Images (..., H, W).
        eps: Smoothing constant of the isotropic form (must be > 0).
        isotropic: Isotropic (default) or anisotropic TV.

    Returns:
        TV per image, shape (...).
    """
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if y.ndim < 2 or y.shape[-1] < 2 or y.shape[-2] < 2:
        raise ValueError(f"y must have shape (..., H, W) with H, W >= 2, got {tuple(y.shape)}")
    dx = y[..., 1:, :-1] - y[..., :-1, :-1]
    dy = y[..., :-1, 1:] - y[..., :-1, :-1]
    if isotropic:
        return torch.sqrt(dx * dx + dy * dy + eps).sum(dim=(-2, -1))
    return dx.abs().sum(dim=(-2, -1)) + dy.abs().sum(dim=(-2, -1))
