"""Smoothed-rank (low-rank) prior, paper Eqs. 2-4."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dnsp.ops.laplacian import as_image_batch
from dnsp.ops.svd import singular_values

__all__ = ["SmoothedRank", "smoothed_rank"]


def _check_delta(delta: float) -> float:
    if not isinstance(delta, (int, float)) or isinstance(delta, bool) or not delta > 0:
        raise ValueError(f"delta must be a positive number, got {delta!r}")
    return float(delta)


def smoothed_rank(y: Tensor, delta: float = 0.01) -> Tensor:
    """Smoothed rank R_delta(Y) = R - sum_i exp(-sigma_i(Y)^2 / (2 delta^2)) of each image.

    Paper Eqs. 2-3 (Malek-Mohammadi et al. 2014): G_delta counts the (near-)zero singular values,
    so R_delta = R - G_delta, R = min(H, W), is a differentiable surrogate of rank(Y). Its
    gradient is U diag(sigma_i / delta^2 * exp(-sigma_i^2 / (2 delta^2))) V^T (Eq. 4), finite
    for repeated and zero singular values. The SVD runs in float32/float64 even under autocast.

    Args:
        y: Images (B, H, W) or (B, 1, H, W); intensities in [0, 1] for the default delta.
        delta: Width of the Gaussian g_delta (paper: 0.01).

    Returns:
        R_delta per image, shape (B,), dtype float32 or float64.
    """
    delta = _check_delta(delta)
    y = as_image_batch(y)
    sigma = singular_values(y[:, 0])
    r = sigma.shape[-1]
    return r - torch.exp(-(sigma * sigma) / (2.0 * delta * delta)).sum(dim=-1)


class SmoothedRank(nn.Module):
    """Module form of :func:`smoothed_rank`.

    Args:
        delta: Width of the Gaussian g_delta (paper: 0.01).
    """

    def __init__(self, delta: float = 0.01) -> None:
        super().__init__()
        self.delta = _check_delta(delta)

    def forward(self, y: Tensor) -> Tensor:
        """(B, 1, H, W) -> (B,)."""
        return smoothed_rank(y, self.delta)

    def extra_repr(self) -> str:
        return f"delta={self.delta}"
