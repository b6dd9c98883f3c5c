"""HFEN (Ravishankar & Bresler 2011): an explicit 15 x 15 LoG, invariances, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dnsp.metrics import HFEN_SIGMA, hfen


def _log_kernel(sigma: float = HFEN_SIGMA, radius: int = 7) -> np.ndarray:
    """The 15 x 15 Laplacian of Gaussian written out: g2(x) g(y) + g(x) g2(y), with g the
    sampled Gaussian normalised to sum 1 and g2 = g (x^2 / sigma^4 - 1 / sigma^2)."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * x**2 / sigma**2)
    g /= g.sum()
    g2 = g * (x**2 / sigma**4 - 1.0 / sigma**2)
    return np.outer(g2, g) + np.outer(g, g2)


def _explicit_hfen(pred: np.ndarray, target: np.ndarray) -> float:
    k = _log_kernel()

    def log(img: np.ndarray) -> np.ndarray:
        padded = np.pad(img, 7, mode="symmetric")  # scipy.ndimage's "reflect"
        return signal.convolve2d(padded, k, mode="valid")

    return float(np.linalg.norm(log(pred - target)) / np.linalg.norm(log(target)))


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:48, 0:40]
    target = 0.5 + 0.3 * np.sin(xx / 3.0) * np.cos(yy / 5.0)
    target[10:30, 12:20] += 0.2
    return target + 0.05 * rng.standard_normal(target.shape), target


def test_hfen_matches_an_explicit_log_convolution(pair) -> None:
    pred, target = pair
    assert hfen(pred, target) == pytest.approx(_explicit_hfen(pred, target), rel=1e-10)


def test_hfen_golden_value(pair) -> None:
    pred, target = pair
    assert hfen(pred, target) == pytest.approx(0.2736126, abs=1e-6)


def test_hfen_invariances(pair) -> None:
    pred, target = pair
    assert hfen(target, target) == 0.0
    assert hfen(np.full_like(target, 0.3), target) == pytest.approx(1.0, abs=1e-6)  # no detail
    assert hfen(2 * target, target) == pytest.approx(1.0, abs=1e-12)  # twice the detail
    assert hfen(target + 0.7, target) < 1e-3  # offsets are not detail (truncated kernel)
    assert hfen(3 * pred, 3 * target) == pytest.approx(hfen(pred, target), rel=1e-12)


def test_hfen_mask_and_crop(pair) -> None:
    pred, target = pair
    mask = np.zeros(target.shape, bool)
    mask[5:40, 5:30] = True
    assert 0 < hfen(pred, target, mask=mask) != hfen(pred, target)
    full = np.ones(target.shape, bool)
    assert hfen(pred, target, mask=full) == pytest.approx(hfen(pred, target), rel=1e-12)
    inner = np.zeros(target.shape, bool)
    inner[4:-4, 4:-4] = True
    assert hfen(pred, target, crop=4) == pytest.approx(hfen(pred, target, mask=inner), rel=1e-12)


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"sigma": 0.0}, "sigma"), ({"crop": -1}, "crop"), ({"crop": 30}, "crop"),
    ({"mask": np.zeros((48, 40), bool)}, "empty"),
])
def test_hfen_bad_arguments(pair, kwargs: dict, msg: str) -> None:
    pred, target = pair
    with pytest.raises(ValueError, match=msg):
        hfen(pred, target, **kwargs)


def test_hfen_undefined_for_a_flat_target_and_shape_errors() -> None:
    with pytest.raises(ValueError, match="undefined"):
        hfen(np.ones((20, 20)), np.zeros((20, 20)))
    with pytest.raises(ValueError, match="differ"):
        hfen(np.zeros((20, 20)), np.ones((20, 21)))
