"""Singular values computed in full precision, whatever the autocast context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

__all__ = ["full_precision", "single_thread_if_small", "singular_values", "svd_reduced"]

#: Matrices up to this side are decomposed with one intra-op thread: for small matrices
#: (e.g. a batch of 40x40 patches) LAPACK's threading costs far more than it gains, and on a
#: busy machine its spinning threads can slow a training step down many times over.
SMALL_MATRIX = 256


def full_precision(y: Tensor) -> Tensor:
    """``y`` as float32, or float64 when it already is (SPEC sec. 2: SVD never in bf16)."""
    return y if y.dtype in (torch.float32, torch.float64) else y.float()


@contextlib.contextmanager
def single_thread_if_small(y: Tensor) -> Iterator[None]:
    """Run the block with one CPU intra-op thread when ``y``'s matrices are small."""
    small = y.device.type == "cpu" and max(y.shape[-2:]) <= SMALL_MATRIX
    before = torch.get_num_threads()
    if small and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small and before > 1:
            torch.set_num_threads(before)


def svd_reduced(y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Reduced SVD ``(U, S, Vh)`` of each matrix of ``y`` (..., H, W), outside autocast."""
    y = full_precision(y)
    with torch.autocast(device_type=y.device.type, enabled=False), single_thread_if_small(y):
        return torch.linalg.svd(y, full_matrices=False)


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
    y = full_precision(y)
    with torch.autocast(device_type=y.device.type, enabled=False), single_thread_if_small(y):
        return torch.linalg.svdvals(y)
