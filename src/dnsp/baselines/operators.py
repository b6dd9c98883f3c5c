"""The degradation operator A = D B of SPEC section 4 as separable matrices, and its adjoint.

B is the in-plane Gaussian blur (sigma = s/2 HR voxels, truncated at 4 sigma, reflect borders)
and D the s x s block mean, both acting on the last two axes of a stack (N, H, W). Along each
in-plane axis the composite is the (n/s, n) matrix A_ax = D_ax G_ax, so A X = A_h X A_w^T and
the adjoint is A^T Y = A_h^T Y A_w (the Gaussian matrix is not exactly symmetric at reflected
borders, so the explicit transpose is used). These are the D and B of LRTV's data term and the
model of SRSW's back-projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dnsp.ops.resize import apply_along_axis, gaussian_matrix

__all__ = ["BlockBlurOperator", "block_mean_matrix"]


def block_mean_matrix(n: int, scale: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """(n // scale, n) matrix averaging consecutive blocks of ``scale`` samples."""
    if n < scale or n % scale:
        raise ValueError(f"n={n} must be a positive multiple of scale={scale}")
    m = n // scale
    mat = torch.zeros(m, n, dtype=dtype)
    rows = torch.arange(m).repeat_interleave(scale)
    mat[rows, torch.arange(n)] = 1.0 / scale
    return mat


@dataclass(frozen=True)
class BlockBlurOperator:
    """A = D B for HR images of in-plane size ``(height, width)`` and factor ``scale``.

    Args:
        height: HR rows H (a multiple of ``scale``).
        width: HR columns W (a multiple of ``scale``).
        scale: Integer factor s >= 2.
        sigma: Blur in HR voxels; ``None`` means s / 2 (SPEC section 4).
        dtype: Floating dtype of the matrices.
    """

    height: int
    width: int
    scale: int
    sigma: float | None = None
    dtype: torch.dtype = torch.float32

    def _axis(self, n: int) -> Tensor:
        s = self.scale
        sig = s / 2.0 if self.sigma is None else float(self.sigma)
        g = gaussian_matrix(n, sig, dtype=torch.float64)
        return (block_mean_matrix(n, s) @ g).to(self.dtype)

    @property
    def a_h(self) -> Tensor:
        """(H/s, H) matrix along the rows."""
        return self._axis(self.height)

    @property
    def a_w(self) -> Tensor:
        """(W/s, W) matrix along the columns."""
        return self._axis(self.width)

    def matrices(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(A_h, A_w, A_h^T A_h, A_w^T A_w)`` (computed once; the properties rebuild)."""
        ah, aw = self.a_h, self.a_w
        return ah, aw, ah.T @ ah, aw.T @ aw

    def forward(self, x: Tensor) -> Tensor:
        """A X for X (..., H, W) -> (..., H/s, W/s)."""
        return apply_along_axis(apply_along_axis(x, self.a_h, -2), self.a_w, -1)

    def adjoint(self, y: Tensor) -> Tensor:
        """A^T Y for Y (..., H/s, W/s) -> (..., H, W)."""
        return apply_along_axis(apply_along_axis(y, self.a_h.T, -2), self.a_w.T, -1)
