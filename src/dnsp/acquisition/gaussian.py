"""The paper's acquisition model (SPEC section 4): Gaussian blur sigma = s/2, then s x s mean.

``A = D B`` with B the in-plane Gaussian (sigma in HR voxels, truncated at 4 sigma, reflected
borders) and D the s x s block mean; along each axis the composite is the ``(n/s, n)`` matrix
``D_ax G_ax`` (:meth:`GaussianAcquisition.operator`, the D and B of LRTV's data term).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from dnsp.acquisition.base import Acquisition, register_acquisition
from dnsp.ops.resize import degrade, gaussian_matrix

__all__ = ["GaussianAcquisition", "block_mean_matrix"]


def block_mean_matrix(n: int, scale: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``(n // scale, n)`` matrix averaging consecutive blocks of ``scale`` samples."""
    if n < scale or n % scale:
        raise ValueError(f"n={n} must be a positive multiple of scale={scale}")
    m = n // scale
    mat = torch.zeros(m, n, dtype=dtype)
    mat[torch.arange(m).repeat_interleave(scale), torch.arange(n)] = 1.0 / scale
    return mat


@register_acquisition
class GaussianAcquisition(Acquisition):
    """Gaussian blur then block mean (paper Sec. IV-A; :func:`dnsp.ops.degrade`).

    Args:
        scale: Integer factor s >= 2.
        sigma: Blur in HR voxels; ``None`` means s / 2 (the paper's).
        noise: Rician noise level (see :class:`~dnsp.acquisition.base.Acquisition`).
        input: Network input mode (``"bicubic"``, the paper's, or ``"zerofill"``).
    """

    name = "gaussian"

    def __init__(self, scale: int = 2, sigma: float | None = None, *, noise: float = 0.0,
                 input: str = "bicubic", noise_corr: float = 0.0,
                 clean_background: bool = False) -> None:
        super().__init__(scale, noise=noise, input=input, noise_corr=noise_corr,
                         clean_background=clean_background)
        if self.scale < 2:
            raise ValueError(f"scale must be >= 2 for the gaussian model, got {self.scale}")
        if sigma is not None and not float(sigma) > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma = None if sigma is None else float(sigma)

    @property
    def blur(self) -> float:
        """The blur actually used, in HR voxels."""
        return self.scale / 2.0 if self.sigma is None else self.sigma

    def _acquire(self, hr: Tensor) -> Tensor:
        return degrade(hr, self.scale, self.sigma)

    def _axis_matrix(self, n: int) -> Tensor:
        return block_mean_matrix(n, self.scale) @ gaussian_matrix(n, self.blur,
                                                                   dtype=torch.float64)

    def _params(self) -> dict[str, Any]:
        return {} if self.sigma is None else {"sigma": self.sigma}
