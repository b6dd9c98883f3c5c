"""The discrete Laplacian of the DNSP sharpness prior (paper Sec. II-C, Eq. 20, SPEC fix)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["LAPLACIAN_KERNEL", "as_image_batch", "filter2d_valid", "laplacian", "laplacian_kernel"]

#: L = [[0, -1, 0], [-1, 4, -1], [0, -1, 0]] used as a cross-correlation filter.
LAPLACIAN_KERNEL: tuple[tuple[float, ...], ...] = (
    (0.0, -1.0, 0.0),
    (-1.0, 4.0, -1.0),
    (0.0, -1.0, 0.0),
)


def laplacian_kernel(
    dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Tensor:
    """Return the 3x3 Laplacian L of the paper as a (1, 1, 3, 3) filter bank."""
    return torch.tensor(LAPLACIAN_KERNEL, dtype=dtype, device=device).view(1, 1, 3, 3)


def as_image_batch(y: Tensor, name: str = "y") -> Tensor:
    """Accept (B, H, W) or (B, 1, H, W) images and return them as (B, 1, H, W).

    Raises:
        ValueError: On any other shape, or on images smaller than 3x3.
    """
    if not isinstance(y, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(y).__name__}")
    if y.ndim == 3:
        y = y.unsqueeze(1)
    if y.ndim != 4 or y.shape[1] != 1:
        raise ValueError(f"{name} must have shape (B, H, W) or (B, 1, H, W), got {tuple(y.shape)}")
    if y.shape[-2] < 3 or y.shape[-1] < 3:
        raise ValueError(f"{name} must be at least 3x3 pixels, got {tuple(y.shape[-2:])}")
    return y


def filter2d_valid(y: Tensor, filters: Tensor) -> Tensor:
    """Cross-correlate each image with each filter, ``valid`` padding.

    Args:
        y: Images (B, 1, H, W).
        filters: Filter bank (N, 1, k, k).

    Returns:
        Responses (B, N, H - k + 1, W - k + 1).
    """
    if filters.ndim != 4 or filters.shape[1] != 1:
        raise ValueError(f"filters must have shape (N, 1, k, k), got {tuple(filters.shape)}")
    return F.conv2d(y, filters.to(dtype=y.dtype, device=y.device))


def laplacian(y: Tensor) -> Tensor:
    """Laplacian response P = L * Y on the valid region (paper Eq. 20, with L as a filter).

    Args:
        y: Images (B, H, W) or (B, 1, H, W).

    Returns:
        Laplacian (B, 1, H - 2, W - 2).
    """
    y = as_image_batch(y)
    return filter2d_valid(y, laplacian_kernel(y.dtype, y.device))
