"""Sharpness priors: variance of the Laplacian (Eq. 21), learnable filters (Eq. 8), S (Eq. 9)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from dnsp.ops.laplacian import as_image_batch, filter2d_valid, laplacian, laplacian_kernel

__all__ = [
    "FILTER_NORMS",
    "LaplacianVariance",
    "SharpnessFilters",
    "filter_variance",
    "laplacian_variance",
    "max_filter_gain",
    "sharpness_gram",
    "sharpness_measure",
    "sharpness_measure_from_gram",
]

FilterNorm = Literal["none", "unit"]
FILTER_NORMS: tuple[str, ...] = ("none", "unit")


def _unbiased_variance(p: Tensor) -> Tensor:
    """Unbiased variance over the last two axes (divide by n - 1, paper Eq. 21)."""
    flat = p.flatten(start_dim=-2)
    if flat.shape[-1] < 2:
        raise ValueError("the filtered image must have at least 2 pixels to take a variance")
    return flat.var(dim=-1, unbiased=True)


def laplacian_variance(y: Tensor) -> Tensor:
    """V(Y) = var(L * Y), the fixed sharpness prior of the paper (Eqs. 5, 21).

    The Laplacian L = [[0,-1,0],[-1,4,-1],[0,-1,0]] is applied as a cross-correlation with
    ``valid`` padding and the unbiased variance is taken over the (H-2) x (W-2) output.

    Args:
        y: Images (B, H, W) or (B, 1, H, W).

    Returns:
        V per image, shape (B,).
    """
    return _unbiased_variance(laplacian(y)[:, 0])


def _check_filters(filters: Tensor) -> Tensor:
    if not isinstance(filters, Tensor) or filters.ndim != 4 or filters.shape[1] != 1:
        shape = tuple(filters.shape) if isinstance(filters, Tensor) else type(filters).__name__
        raise ValueError(f"filters must have shape (N_L, 1, k, k), got {shape}")
    if filters.shape[0] < 1:
        raise ValueError("filters must hold at least one filter")
    return filters


def filter_variance(y: Tensor, filters: Tensor) -> Tensor:
    """V_mod(Y) = (1 / N_L) sum_l var(W_l * Y), the learnable sharpness prior (paper Eq. 8).

    Args:
        y: Images (B, H, W) or (B, 1, H, W).
        filters: Filter bank (N_L, 1, k, k), applied as valid cross-correlations.

    Returns:
        V_mod per image, shape (B,).
    """
    y = as_image_batch(y)
    filters = _check_filters(filters)
    return _unbiased_variance(filter2d_valid(y, filters)).mean(dim=1)


def max_filter_gain(filters: Tensor, grid: int = 64) -> Tensor:
    """g = max_w (1 / N_L) sum_l |W_l(w)|^2, the largest energy gain of the filter bank.

    For any image perturbation D, (1 / N_L) sum_l ||W_l * D||^2 <= g ||D||^2, with near
    equality for D oscillating at the maximising frequency. It bounds how fast V or V_mod
    (Eqs. 5, 8) can grow; the Laplacian L has g = 64 (response -8 at (pi, pi)).

    Args:
        filters: Filter bank (N_L, 1, k, k).
        grid: FFT size per axis on which the frequency response is sampled (even, so that the
            Nyquist frequency is included).

    Returns:
        Scalar tensor g.
    """
    filters = _check_filters(filters)
    if grid < max(filters.shape[-2:]) or grid % 2:
        raise ValueError(f"grid must be even and at least the filter size, got {grid}")
    response = torch.fft.fft2(filters[:, 0].detach(), s=(grid, grid))
    return response.abs().square().mean(dim=0).max()


def sharpness_measure(filters: Tensor, sharp: Tensor, smooth: Tensor) -> Tensor:
    """S(Theta_L) = sum_l sum_j ||W_l * Sm_j||_F^2 - sum_l sum_j ||W_l * Sh_j||_F^2 (paper Eq. 9).

    Small when the filters respond weakly to smooth patches and strongly to sharp ones.

    Args:
        filters: Filter bank (N_L, 1, k, k).
        sharp: Sharp patches Sh (N_T, 1, P, P) (or (N_T, P, P)).
        smooth: Smooth patches Sm (N_T', 1, P, P) (or (N_T', P, P)).

    Returns:
        Scalar tensor S.
    """
    filters = _check_filters(filters)
    sharp = as_image_batch(sharp, "sharp")
    smooth = as_image_batch(smooth, "smooth")
    e_smooth = filter2d_valid(smooth, filters).pow(2).sum()
    e_sharp = filter2d_valid(sharp, filters).pow(2).sum()
    return e_smooth - e_sharp


def _patch_gram(patches: Tensor, k: int) -> Tensor:
    """Sum over patches and valid positions of v v^T, v the k x k neighbourhood (float64)."""
    cols = torch.nn.functional.unfold(patches.to(torch.float64), kernel_size=k)  # (N, k*k, L)
    return torch.einsum("nil,njl->ij", cols, cols)


def sharpness_gram(sharp: Tensor, smooth: Tensor, size: int = 3) -> Tensor:
    """The (k^2, k^2) matrix M with S(W) = sum_l vec(W_l)^T M vec(W_l) (paper Eq. 9).

    ||W * X||_F^2 over the valid positions is the quadratic form vec(W)^T G_X vec(W) with
    G_X = sum_positions v v^T the Gram matrix of X's k x k neighbourhoods, so
    M = sum_j G_{Sm_j} - sum_j G_{Sh_j}. Computing M once makes S cost O(N_L k^4) per step,
    independent of the number of patches, with the same value and gradient (Eq. 29).

    Args:
        sharp: Sharp patches (N_T, 1, P, P).
        smooth: Smooth patches (N_T', 1, P, P).
        size: Filter side k.

    Returns:
        M in float64.
    """
    sharp = as_image_batch(sharp, "sharp")
    smooth = as_image_batch(smooth, "smooth")
    return _patch_gram(smooth, size) - _patch_gram(sharp, size)


def sharpness_measure_from_gram(filters: Tensor, gram: Tensor) -> Tensor:
    """S(Theta_L) from the precomputed matrix of :func:`sharpness_gram` (scalar)."""
    filters = _check_filters(filters)
    k2 = filters.shape[-1] * filters.shape[-2]
    if gram.shape != (k2, k2):
        raise ValueError(f"gram must be ({k2}, {k2}) for {tuple(filters.shape[-2:])} filters, "
                         f"got {tuple(gram.shape)}")
    w = filters.flatten(1)
    return torch.einsum("li,ij,lj->", w, gram.to(w.dtype), w)


class LaplacianVariance(nn.Module):
    """Module form of :func:`laplacian_variance`: (B, 1, H, W) -> (B,)."""

    def forward(self, y: Tensor) -> Tensor:
        return laplacian_variance(y)


class SharpnessFilters(nn.Module):
    """The N_L learnable 3x3 sharpness filters of paper Sec. III.

    Each filter starts as the Laplacian L plus N(0, eps) noise with variance eps = 1e-4 (std
    0.01). ``norm="none"`` is the paper's unconstrained form: nothing in Eq. 10 bounds the
    filters' norm, and both -beta V_mod and -gamma S reward larger filters, so with large
    weights they grow without bound. ``norm="unit"`` is the documented alternative: the
    filters used are re-projected on every call to zero mean and the Frobenius norm of L
    (sqrt(20)), W_used = sqrt(20) (W - mean W) / ||W - mean W||_F, a differentiable
    parametrisation that keeps them on the Laplacian's scale and blind to constant images.

    Args:
        n_filters: N_L (paper: 8).
        size: Filter side (paper: 3; the init is the Laplacian, so only 3 is accepted).
        noise_var: Variance of the initial perturbation (paper: 1e-4).
        norm: "none" (paper) or "unit".
        seed: Seed of the initial perturbation (filters are reproducible).
    """

    def __init__(
        self, n_filters: int = 8, size: int = 3, noise_var: float = 1e-4,
        norm: FilterNorm = "none", seed: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(n_filters, int) or n_filters < 1:
            raise ValueError(f"n_filters must be a positive integer, got {n_filters!r}")
        if size != 3:
            raise ValueError(f"size must be 3 (filters start as the 3x3 Laplacian), got {size}")
        if noise_var < 0:
            raise ValueError(f"noise_var must be >= 0, got {noise_var}")
        if norm not in FILTER_NORMS:
            raise ValueError(f"norm must be one of {FILTER_NORMS}, got {norm!r}")
        gen = torch.Generator().manual_seed(seed)
        init = laplacian_kernel(torch.float32).repeat(n_filters, 1, 1, 1)
        init = init + noise_var**0.5 * torch.randn(init.shape, generator=gen)
        self.weight = nn.Parameter(init)
        self.norm: FilterNorm = norm

    def forward(self) -> Tensor:
        """Return the filters in use, (N_L, 1, 3, 3) (re-projected when ``norm="unit"``)."""
        if self.norm == "none":
            return self.weight
        w = self.weight - self.weight.mean(dim=(-2, -1), keepdim=True)
        scale = laplacian_kernel(w.dtype, w.device).norm()
        return scale * w / w.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)

    def extra_repr(self) -> str:
        return f"n_filters={self.weight.shape[0]}, norm={self.norm!r}"
