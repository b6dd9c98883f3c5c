"""consistency_psnr: re-degraded output against the input (SPEC section 4 acquisition)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dnsp.data.degradation import bicubic_upscale_volume, degrade_volume
from dnsp.infer.consistency import consistency_psnr


def oblique_psr_affine() -> np.ndarray:
    """Sagittal voxel order (axis 0 -> P, 1 -> S, 2 -> R), slightly rotated, anisotropic."""
    c, s = np.cos(0.1), np.sin(0.1)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    perm = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ perm @ np.diag([1.2, 2.0, 0.9])
    aff[:3, 3] = [10.0, -20.0, 5.0]
    return aff


def smooth_volume(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A positive blob with 5% noise, in scanner-like units."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    vol = 1000.0 * np.exp(-2.0 * sum(g**2 for g in grids)) + 50.0 * rng.random(shape)
    return vol.astype(np.float32)


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    hr = smooth_volume((24, 5, 20), seed=1)  # PSR: axial plane = voxel axes 0 and 2
    hr_aff = oblique_psr_affine()
    lr, lr_aff = degrade_volume(hr, hr_aff, 2)
    return lr, lr_aff, hr, hr_aff


def test_true_hr_round_trip_is_exact(pair: tuple[np.ndarray, ...]) -> None:
    lr, lr_aff, hr, hr_aff = pair
    assert lr.shape == (12, 5, 10)
    assert consistency_psnr(lr, lr_aff, hr, hr_aff, 2) == math.inf


def test_bicubic_high_shuffled_low(pair: tuple[np.ndarray, ...]) -> None:
    lr, lr_aff, _, _ = pair
    up, up_aff = bicubic_upscale_volume(lr, lr_aff, 2)
    good = consistency_psnr(lr, lr_aff, up, up_aff, 2)
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(up.ravel()).reshape(up.shape)
    bad = consistency_psnr(lr, lr_aff, shuffled, up_aff, 2)
    assert 28.0 < good < 80.0, good
    assert bad < 15.0, bad
    assert good - bad > 15.0


def test_golden_value_of_a_known_error() -> None:
    """A constant output re-degrades to itself: the PSNR is the one of that constant."""
    lr_aff = np.diag([2.0, 2.0, 3.0, 1.0])
    lr = np.zeros((4, 4, 2))
    lr[:2] = 100.0  # range R = 100
    const = np.full((4, 4, 2), 50.0)
    hr_c, hr_c_aff = bicubic_upscale_volume(const, lr_aff, 2)
    value = consistency_psnr(lr, lr_aff, hr_c, hr_c_aff, 2)
    # degrade(constant 50) = 50 everywhere; MSE against lr (0 / 100 halves) = 2500
    assert value == pytest.approx(10 * math.log10(100.0**2 / 2500.0), abs=1e-3)


def test_constant_input_uses_its_magnitude() -> None:
    aff = np.diag([1.0, 1.0, 2.0, 1.0])
    lr = np.full((4, 4, 2), 10.0)
    hr = np.full((8, 8, 2), 11.0)
    hr_aff = bicubic_upscale_volume(lr, aff, 2)[1]
    assert consistency_psnr(lr, aff, hr, hr_aff, 2) == pytest.approx(20.0, abs=1e-3)


def test_wrong_grid_is_rejected(pair: tuple[np.ndarray, ...]) -> None:
    lr, lr_aff, hr, hr_aff = pair
    with pytest.raises(ValueError, match="shape"):
        consistency_psnr(lr, lr_aff, hr, hr_aff, 3)
    shifted = hr_aff.copy()
    shifted[:3, 3] += 5.0
    with pytest.raises(ValueError, match="voxel grid"):
        consistency_psnr(lr, lr_aff, hr, shifted, 2)
    with pytest.raises(ValueError, match="finite"):
        consistency_psnr(np.full_like(lr, np.nan), lr_aff, hr, hr_aff, 2)
