"""Acquisition models on volumes (dnsp.data.degradation): default unchanged, geometry, errors."""

import numpy as np
import pytest

from dnsp.acquisition import get_acquisition
from dnsp.data.degradation import degrade_slices, degrade_volume


@pytest.fixture
def vol() -> tuple[np.ndarray, np.ndarray]:
    data = np.random.default_rng(0).random((12, 7, 18)).astype(np.float32)
    aff = np.array([[0, 0, -1.5, 30], [-1.0, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1.0]])
    return data, aff


def test_default_is_the_explicit_gaussian(vol) -> None:
    data, aff = vol
    lr0, a0 = degrade_volume(data, aff, 2)
    lr1, a1 = degrade_volume(data, aff, 2, get_acquisition("gaussian", scale=2))
    np.testing.assert_array_equal(lr0, lr1)
    np.testing.assert_array_equal(a0, a1)


def test_kspace_volume_geometry_and_seeded_noise(vol) -> None:
    data, aff = vol
    acq = get_acquisition("kspace", scale=3, noise=0.05)
    lr, lr_aff = degrade_volume(data, aff, 3, acq, seed=1)
    again, _ = degrade_volume(data, aff, 3, acq, seed=1)
    other, _ = degrade_volume(data, aff, 3, acq, seed=2)
    assert lr.shape == (4, 7, 6) and lr.dtype == np.float32
    np.testing.assert_array_equal(lr, again)
    assert not np.array_equal(lr, other)
    np.testing.assert_allclose(lr_aff, degrade_volume(data, aff, 3)[1])


def test_kspace_needs_a_divisible_matrix(vol) -> None:
    data, aff = vol
    with pytest.raises(ValueError, match="multiple of the scale 5"):
        degrade_volume(data, aff, 5, get_acquisition("kspace", scale=5))
    degrade_volume(data, aff, 5)  # the paper's model crops instead


def test_scale_must_match(vol) -> None:
    with pytest.raises(ValueError, match="scale 2"):
        degrade_slices(vol[0][:, 0], 2, get_acquisition("kspace", scale=3))
