"""Shared synthetic images of the acquisition tests."""

from __future__ import annotations

import numpy as np


def textured_ellipse(n: int, seed: int, axes: tuple[float, float], spots: int,
                     spread: float, radius: tuple[float, float]) -> np.ndarray:
    """A head-like ``(n, n)`` slice: an ellipse (semi-axes ``axes`` of the field) of tissue
    0.5 plus ``spots`` discs of +0.3 (centres within ``spread``, radii in ``radius``) with
    sharp edges, on an exactly zero field."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:n, :n] / n - 0.5
    head = (x / axes[0]) ** 2 + (y / axes[1]) ** 2 < 1
    tex = np.zeros((n, n))
    for _ in range(spots):
        cy, cx, r = [*rng.uniform(-spread, spread, 2).tolist(), rng.uniform(*radius)]
        tex += 0.3 * (((x - cx) ** 2 + (y - cy) ** 2) < r * r)
    return (head * (0.5 + tex)).astype(np.float32)
