"""Rician noise of a magnitude MR image (complex Gaussian noise added before the magnitude).

A magnitude image is ``|x + n_r + j n_i|`` with ``n_r, n_i ~ N(0, sigma^2)`` independent per
voxel (Gudbjartsson & Patz 1995). On a constant image of value ``A`` its mean is
``sigma sqrt(pi/2) L_{1/2}(-A^2 / (2 sigma^2))`` and its second moment ``A^2 + 2 sigma^2``;
on the background (``A = 0``) it is Rayleigh distributed.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["rician_noise"]


def rician_noise(x: Tensor, sigma: float | Tensor, generator: torch.Generator | None = None,
                 correlation: float = 0.0) -> Tensor:
    """Magnitude of ``x`` plus complex Gaussian noise of per-channel standard deviation ``sigma``.

    Args:
        x: Real (noise-free) image of any shape; its sign is kept by the magnitude only where
            ``x >= 0`` (a magnitude image is non-negative).
        sigma: Standard deviation per real/imaginary channel, >= 0 (a scalar, or a tensor that
            broadcasts against ``x``, e.g. ``(B, 1, 1, 1)`` for one level per image).
        generator: Seeded :class:`torch.Generator` (``None``: the global generator).
        correlation: In-plane correlation length (pixels) of the noise: each channel is white
            noise smoothed by a Gaussian of this sigma and rescaled to unit variance, as
            reconstruction filters and interpolation leave real scans' noise (0: white).

    Returns:
        ``|x + n_r + j n_i|`` in the dtype of ``x``; ``x`` itself when ``sigma`` is 0.

    Raises:
        ValueError: A negative ``sigma``.
    """
    sig = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if bool((sig < 0).any()):
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    if not bool((sig > 0).any()):
        return x.clone()
    if not correlation >= 0:
        raise ValueError(f"noise correlation must be >= 0, got {correlation}")
    real = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    imag = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    if correlation > 0 and x.ndim >= 2:
        from dnsp.ops.resize import gaussian_blur2d

        # unit variance again: white noise through a kernel k has variance sum(k^2)
        unit = torch.zeros(x.shape[-2:], dtype=x.dtype, device=x.device)
        unit[x.shape[-2] // 2, x.shape[-1] // 2] = 1.0
        gain = float(gaussian_blur2d(unit, correlation).pow(2).sum().sqrt())
        real = gaussian_blur2d(real, correlation) / gain
        imag = gaussian_blur2d(imag, correlation) / gain
    return torch.sqrt((x + sig * real) ** 2 + (sig * imag) ** 2)
