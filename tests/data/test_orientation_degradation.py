"""Axial plane from the affine, volume degradation/upscaling and their world coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from dnsp.data.degradation import (
    bicubic_upscale_slices,
    bicubic_upscale_volume,
    crop_volume_to_multiple,
    degrade_slices,
    degrade_volume,
)
from dnsp.data.intensity import percentile_scale, unscale
from dnsp.data.orientation import axial_axes, from_axial_stack, to_axial_stack


def _world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    return (affine[:3, :3] @ np.asarray(ijk, float).T).T + affine[:3, 3]


def test_axial_axes_follow_the_affine(any_affine):
    row, col, sl = axial_axes(any_affine)
    assert sorted((row, col, sl)) == [0, 1, 2]
    dirs = np.abs(any_affine[:3, :3] / np.linalg.norm(any_affine[:3, :3], axis=0))
    assert np.argmax(dirs[:, sl]) == 2  # slice axis runs S-I
    assert np.argmax(dirs[:, row]) == 1  # rows run A-P
    assert np.argmax(dirs[:, col]) == 0  # columns run R-L


def test_known_orientations():
    ras = np.eye(4)
    assert axial_axes(ras) == (1, 0, 2)
    psr = np.array([[0, 0, 2, -92], [-2, 0, 0, 134], [0, 2, 0, -121], [0, 0, 0, 1.0]])
    assert axial_axes(psr) == (0, 2, 1)  # IXI: P is axis 0, S axis 1, R axis 2


def test_stack_roundtrip_is_a_pure_transposition(any_affine, head):
    stack = to_axial_stack(head, any_affine)
    _, _, sl = axial_axes(any_affine)
    assert stack.shape[0] == head.shape[sl]
    back = from_axial_stack(stack, any_affine)
    np.testing.assert_array_equal(back, head)
    assert np.shares_memory(stack, head)  # no copy, no flip


@pytest.mark.parametrize("scale", [2, 3])
def test_degrade_volume_world_coordinates(any_affine, head, scale):
    lr, lr_aff = degrade_volume(head, any_affine, scale)
    row, col, sl = axial_axes(any_affine)
    assert lr.shape[sl] == head.shape[sl]
    assert lr.shape[row] == head.shape[row] // scale
    assert lr.shape[col] == head.shape[col] // scale
    # every LR voxel centre is the centre of its s x s block of HR voxels
    rng = np.random.default_rng(scale)
    for _ in range(5):
        ijk = np.array([rng.integers(0, n) for n in lr.shape], float)
        hr_ijk = ijk.copy()
        hr_ijk[[row, col]] = scale * ijk[[row, col]] + (scale - 1) / 2
        np.testing.assert_allclose(_world(lr_aff, ijk), _world(any_affine, hr_ijk), atol=1e-9)
    # the values are the 2-D degradation of each axial slice
    stack = to_axial_stack(head, any_affine)
    k = stack.shape[0] // 2
    h, w = (stack.shape[1] // scale) * scale, (stack.shape[2] // scale) * scale
    blurred = ndimage.gaussian_filter(stack[k, :h, :w].astype(np.float64), scale / 2,
                                      mode="reflect", truncate=4)
    ref = blurred.reshape(h // scale, scale, w // scale, scale).mean(axis=(1, 3))
    np.testing.assert_allclose(to_axial_stack(lr, lr_aff)[k], ref, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("scale", [2, 4])
def test_upscale_volume_world_coordinates_and_roundtrip_grid(any_affine, head, scale):
    lr, lr_aff = degrade_volume(head, any_affine, scale)
    up, up_aff = bicubic_upscale_volume(lr, lr_aff, scale)
    cropped, crop_aff = crop_volume_to_multiple(head, any_affine, scale)
    assert up.shape == cropped.shape
    np.testing.assert_allclose(up_aff, crop_aff, atol=1e-9)  # back on the HR grid
    row, col, _ = axial_axes(any_affine)
    for j in range(3):
        ijk = np.array([j, j, j], float)
        lr_ijk = ijk.copy()
        lr_ijk[[row, col]] = (ijk[[row, col]] + 0.5) / scale - 0.5
        np.testing.assert_allclose(_world(up_aff, ijk), _world(lr_aff, lr_ijk), atol=1e-9)


def test_slices_helpers_shapes_and_2d():
    img = np.random.default_rng(0).random((13, 11)).astype(np.float32)
    lr = degrade_slices(img, 3)
    assert lr.shape == (4, 3)
    assert bicubic_upscale_slices(lr, 3).shape == (12, 9)
    stack = np.random.default_rng(1).random((70, 9, 8)).astype(np.float32)  # > one chunk
    assert degrade_slices(stack, 2).shape == (70, 4, 4)
    with pytest.raises(ValueError):
        degrade_slices(img, 1)
    with pytest.raises(ValueError):
        degrade_slices(np.zeros((2, 2, 2, 2)), 2)


def test_percentile_scale(head):
    scaled, f = percentile_scale(head)
    assert scaled.dtype == np.float32 and 0 <= scaled.min() and scaled.max() == 1.0
    assert f == pytest.approx(np.percentile(head, 99.9), rel=1e-6)
    below = head < f
    np.testing.assert_allclose(unscale(scaled, f)[below], head[below], rtol=1e-5)
    with pytest.raises(ValueError):
        percentile_scale(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        percentile_scale(np.array([1.0, np.nan]))
    with pytest.raises(ValueError):
        percentile_scale(head, q=0)
