"""Small synthetic slices for the metrics tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def phantom_pair() -> tuple[np.ndarray, np.ndarray]:
    """A 32x40 'head' (bright disc with a dark hole, zero background) and a noisy copy."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :40]
    r = np.hypot(yy - 16, xx - 20)
    hr = np.where(r < 12, 0.6 + 0.3 * np.sin(xx / 3.0), 0.0)
    hr[r < 3] = 0.02  # dark "ventricle" enclosed by the head
    pred = np.clip(hr + rng.normal(0, 0.05, hr.shape), 0, 1)
    return pred, hr
