"""Training patches of paper Sec. IV-A: 40 x 40 patches from bicubic-upscaled LR / HR pairs."""

from __future__ import annotations

import numpy as np

from dnsp.data.slicing import FG_THRESHOLD
from dnsp.ops.grid import window_starts

__all__ = ["MIN_PATCH_FOREGROUND", "box_sum", "extract_patch_pairs", "patch_grid"]

#: A training patch is kept when at least this fraction of its HR pixels is foreground.
MIN_PATCH_FOREGROUND = 0.1


def patch_grid(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of a regular grid of ``patch`` x ``patch`` windows with ``stride``.

    The grid starts at (0, 0); a last row/column flush with the border is added when the
    stride does not reach it, so every pixel is covered (:func:`dnsp.ops.grid.window_starts`).
    """
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be >= 1, got {patch}, {stride}")
    if height < patch or width < patch:
        return []
    return [(i, j) for i in window_starts(height, patch, stride)
            for j in window_starts(width, patch, stride)]


def box_sum(img: np.ndarray, size: int) -> np.ndarray:
    """Sum of every ``size`` x ``size`` window of a 2-D array (valid positions), via cumsums."""
    a = np.asarray(img, dtype=np.float64)
    c = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    c[1:, 1:] = a.cumsum(0).cumsum(1)
    return c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]


def extract_patch_pairs(
    inputs: np.ndarray, targets: np.ndarray, patch: int, stride: int,
    threshold: float = FG_THRESHOLD, min_foreground: float = MIN_PATCH_FOREGROUND,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut aligned patch pairs from ``(N, H, W)`` input/target stacks.

    Patches whose target has fewer than ``min_foreground`` of its pixels above ``threshold``
    (almost all background) are skipped.

    Returns:
        ``(input_patches, target_patches, origin)`` with patches (P, patch, patch) float32
        and ``origin`` (P, 3) int64 rows of (image index, top, left).
    """
    x = np.asarray(inputs, dtype=np.float32)
    y = np.asarray(targets, dtype=np.float32)
    if x.shape != y.shape or x.ndim != 3:
        raise ValueError(f"inputs and targets must be equal (N, H, W) stacks, got "
                         f"{x.shape} and {y.shape}")
    xs, ys, origin = [], [], []
    grid = patch_grid(x.shape[1], x.shape[2], patch, stride)
    need = min_foreground * patch * patch
    for n in range(x.shape[0]):
        fg = box_sum(y[n] > threshold, patch)
        for i, j in grid:
            if fg[i, j] + 1e-9 < need:
                continue
            xs.append(x[n, i:i + patch, j:j + patch])
            ys.append(y[n, i:i + patch, j:j + patch])
            origin.append((n, i, j))
    if not xs:
        empty = np.zeros((0, patch, patch), np.float32)
        return empty, empty.copy(), np.zeros((0, 3), np.int64)
    return np.stack(xs), np.stack(ys), np.asarray(origin, dtype=np.int64)
