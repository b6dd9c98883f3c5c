"""Singular-value thresholding, the proximal operator of the nuclear norm (Cai et al. 2010).

SVT_tau(M) = U diag(max(sigma_i - tau, 0)) V^T solves min_X tau ||X||_* + 1/2 ||X - M||_F^2.
Used by the low-rank step of LRTV (Shi et al., IEEE TMI 2015; SPEC section 5).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["fold", "svt", "unfold"]


def svt(m: Tensor, tau: float) -> Tensor:
    """Singular-value thresholding of a matrix or a batch of matrices.

    For a wide or tall matrix the thin SVD is obtained from the eigen-decomposition of the
    small Gram matrix (computed in float64), so an unfolding of a whole head (e.g. 217 x 32 761)
    costs two matrix products: SVT(M) = U diag(max(1 - tau / sigma, 0)) U^T M with M M^T =
    U diag(sigma^2) U^T. Singular values below ``tau`` (including exact zeros) are removed,
    so no division by a vanishing singular value takes place.

    Args:
        m: (..., p, q) real tensor.
        tau: Threshold >= 0.

    Returns:
        Tensor of the shape and dtype of ``m``.
    """
    if tau < 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    if m.ndim < 2:
        raise ValueError(f"m must be a matrix (..., p, q), got shape {tuple(m.shape)}")
    if tau == 0:
        return m.clone()
    transpose = m.shape[-2] > m.shape[-1]
    a = m.transpose(-2, -1) if transpose else m  # (..., p, q) with p <= q
    a64 = a.to(torch.float64)
    gram = a64 @ a64.transpose(-2, -1)
    evals, evecs = torch.linalg.eigh(gram)
    sigma = evals.clamp_min(0.0).sqrt()
    safe = torch.where(sigma > tau, sigma, torch.ones_like(sigma))
    factor = torch.where(sigma > tau, 1.0 - tau / safe, torch.zeros_like(sigma))
    proj = (evecs * factor.unsqueeze(-2)) @ evecs.transpose(-2, -1)
    out = (proj @ a64).to(m.dtype)
    return out.transpose(-2, -1) if transpose else out


def unfold(x: Tensor, mode: int) -> Tensor:
    """Mode-``mode`` unfolding of a 3-D tensor: (n_mode, product of the other two sizes)."""
    if x.ndim != 3 or mode not in (0, 1, 2):
        raise ValueError(f"need a 3-D tensor and mode in (0, 1, 2), got {tuple(x.shape)}, {mode}")
    return x.movedim(mode, 0).reshape(x.shape[mode], -1)


def fold(mat: Tensor, mode: int, shape: tuple[int, int, int]) -> Tensor:
    """Inverse of :func:`unfold` for a tensor of ``shape``."""
    if mode not in (0, 1, 2) or len(shape) != 3:
        raise ValueError(f"need mode in (0, 1, 2) and a 3-D shape, got {mode}, {shape}")
    moved = (shape[mode], *[n for i, n in enumerate(shape) if i != mode])
    return mat.reshape(moved).movedim(0, mode)
