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


def rician_noise(x: Tensor, sigma: float | Tensor, generator: torch.Generator | None = None
                 ) -> Tensor:
    """Magnitude of ``x`` plus complex Gaussian noise of per-channel standard deviation ``sigma``.

    Args:
        x: Real (noise-free) image of any shape; its sign is kept by the magnitude only where
            ``x >= 0`` (a magnitude image is non-negative).
        sigma: Standard deviation per real/imaginary channel, >= 0 (a scalar, or a tensor that
            broadcasts against ``x``, e.g. ``(B, 1, 1, 1)`` for one level per image).
        generator: Seeded :class:`torch.Generator` (``None``: the global generator).

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
    real = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    imag = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return torch.sqrt((x + sig * real) ** 2 + (sig * imag) ** 2)
