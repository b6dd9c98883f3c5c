"""Singular values computed in full precision, whatever the autocast context."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["singular_values"]


def singular_values(y: Tensor) -> Tensor:
    """Singular values sigma_i(Y) of each 2-D image, in float32 or float64.

    The SVD runs outside autocast and in at least float32 (bf16/fp16 inputs are upcast), as
    SPEC section 2 requires. Autograd through :func:`torch.linalg.svdvals` gives
    U diag(g'(sigma)) V^T, which stays finite for repeated and zero singular values.

    Args:
        y: Images (..., H, W).

    Returns:
        Singular values (..., min(H, W)) in descending order, dtype float32 or float64.
    """
    dtype = y.dtype if y.dtype in (torch.float32, torch.float64) else torch.float32
    with torch.autocast(device_type=y.device.type, enabled=False):
        return torch.linalg.svdvals(y.to(dtype))
