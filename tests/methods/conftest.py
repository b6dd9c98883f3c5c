"""Shared fixtures of the baseline tests: tiny synthetic head-like stacks and the data folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from dnsp.ops import degrade

DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def phantom_stack(n: int, size: int, seed: int) -> np.ndarray:
    """(n, size, size) piecewise-smooth stack in [0, 1]: nested ellipses with soft edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float64) / size - 0.5
    out = np.zeros((n, size, size))
    cy, cx = rng.uniform(-0.05, 0.05, 2)
    for k in range(n):
        r = np.hypot((yy - cy) / 0.42, (xx - cx) / 0.36) * (1 + 0.02 * k)
        img = 0.3 / (1 + np.exp((r - 0.95) * 40)) + 0.5 / (1 + np.exp((r - 0.6) * 40))
        blob = np.hypot(yy - cy - 0.1, xx - cx + 0.08) < 0.08 + 0.004 * k
        img = img - 0.3 * blob
        out[k] = img
    out += 0.005 * rng.standard_normal(out.shape)
    return np.clip(out, 0, 1).astype(np.float32)


def lr_of(hr: np.ndarray, scale: int) -> np.ndarray:
    """SPEC section 4 degradation of a NumPy stack."""
    return degrade(torch.from_numpy(hr).to(torch.float64), scale).numpy().astype(np.float32)


@pytest.fixture
def make_phantom() -> Callable[[int, int, int], np.ndarray]:
    """The :func:`phantom_stack` factory."""
    return phantom_stack


@pytest.fixture
def make_lr() -> Callable[[np.ndarray, int], np.ndarray]:
    """The :func:`lr_of` degradation."""
    return lr_of


@pytest.fixture
def small_stack() -> np.ndarray:
    """(8, 24, 24) HR test stack."""
    return phantom_stack(8, 24, seed=1)


@pytest.fixture
def data_dir() -> Path:
    """``<repo>/../shared/data``; skips the test when absent."""
    if not (DATA_DIR / "brainweb").is_dir():
        pytest.skip("shared data folder is absent")
    return DATA_DIR
