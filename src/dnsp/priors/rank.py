"""Smoothed-rank (low-rank) prior, paper Eqs. 2-4."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dnsp.ops.laplacian import as_image_batch
from dnsp.ops.svd import full_precision, svd_reduced

__all__ = ["SmoothedRank", "smoothed_rank"]


def _check_delta(delta: float) -> float:
    if not isinstance(delta, (int, float)) or isinstance(delta, bool) or not delta > 0:
        raise ValueError(f"delta must be a positive number, got {delta!r}")
    return float(delta)


class _SmoothedRank(torch.autograd.Function):
    """R_delta with the closed-form gradient of Eq. 4 as its backward pass."""

    @staticmethod
    def forward(ctx, y: Tensor, delta: float) -> Tensor:  # type: ignore[override]
        u, sigma, vh = svd_reduced(y)
        g = torch.exp(-(sigma * sigma) / (2.0 * delta * delta))
        ctx.save_for_backward(u, sigma, vh, g)
        ctx.delta = delta
        return sigma.shape[-1] - g.sum(dim=-1)

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        u, sigma, vh, g = ctx.saved_tensors
        # Eq. 4: dR/dY = U diag(sigma_i / delta^2 exp(-sigma_i^2 / 2 delta^2)) V^T
        d = sigma * g / (ctx.delta * ctx.delta) * grad_out.unsqueeze(-1)
        return (u * d.unsqueeze(-2)) @ vh, None


def smoothed_rank(y: Tensor, delta: float = 0.01) -> Tensor:
    """Smoothed rank R_delta(Y) = R - sum_i exp(-sigma_i(Y)^2 / (2 delta^2)) of each image.

    Paper Eqs. 2-3 (Malek-Mohammadi et al. 2014): G_delta counts the (near-)zero singular values,
    so R_delta = R - G_delta, R = min(H, W), is a differentiable surrogate of rank(Y). The
    backward pass is the closed form of Eq. 4, U diag(sigma_i / delta^2 exp(-sigma_i^2 /
    (2 delta^2))) V^T from the reduced SVD, finite for repeated and zero singular values
    (tests check it against finite differences). The SVD runs in float32/float64 even under
    autocast, single-threaded for small images (see :mod:`dnsp.ops.svd`).

    Args:
        y: Images (B, H, W) or (B, 1, H, W); intensities in [0, 1] for the default delta.
        delta: Width of the Gaussian g_delta (paper: 0.01).

    Returns:
        R_delta per image, shape (B,), dtype float32 or float64.
    """
    delta = _check_delta(delta)
    y = as_image_batch(y)
    with torch.autocast(device_type=y.device.type, enabled=False):
        return _SmoothedRank.apply(full_precision(y[:, 0]), delta)


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
