"""Tests of dnsp.ops.resize against independent references (SPEC section 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from dnsp.ops.resize import (
    bicubic_resize,
    bicubic_upscale,
    block_downsample,
    crop_to_multiple,
    degrade,
    downscale_affine,
    gaussian_blur2d,
    upscale_affine,
)


def _keys(t: float, a: float = -0.5) -> float:
    t = abs(t)
    if t <= 1:
        return (a + 2) * t**3 - (a + 3) * t**2 + 1
    if t < 2:
        return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return 0.0


def _reference_bicubic(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Direct, loop-based 2-D Keys convolution (a = -0.5), centre-aligned, edge-clamped."""
    h, w = img.shape
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        y = (i + 0.5) * h / out_h - 0.5
        for j in range(out_w):
            x = (j + 0.5) * w / out_w - 0.5
            acc = 0.0
            for m in range(math.floor(y) - 1, math.floor(y) + 3):
                wy = _keys(y - m)
                mm = min(max(m, 0), h - 1)
                for n in range(math.floor(x) - 1, math.floor(x) + 3):
                    acc += wy * _keys(x - n) * img[mm, min(max(n, 0), w - 1)]
            out[i, j] = acc
    return out


@pytest.mark.parametrize(("shape", "out"), [((7, 5), (14, 10)), ((6, 9), (18, 27)),
                                              ((5, 4), (9, 11)), ((8, 8), (4, 4))])
def test_bicubic_matches_independent_keys_reference(shape, out):
    rng = np.random.default_rng(0)
    img = rng.random(shape)
    got = bicubic_resize(torch.from_numpy(img), out).numpy()
    np.testing.assert_allclose(got, _reference_bicubic(img, *out), atol=1e-5, rtol=0)


def test_bicubic_reproduces_linear_ramps_and_constants():
    # Keys a=-0.5 is exact on polynomials up to degree 2 away from the clamped borders
    y, x = np.mgrid[0:10, 0:12].astype(np.float64)
    img = 0.3 * x + 0.2 * y + 1.0
    up = bicubic_upscale(torch.from_numpy(img), 3).numpy()
    yy, xx = np.mgrid[0:30, 0:36]
    expect = 0.3 * ((xx + 0.5) / 3 - 0.5) + 0.2 * ((yy + 0.5) / 3 - 0.5) + 1.0
    np.testing.assert_allclose(up[6:-6, 6:-6], expect[6:-6, 6:-6], atol=1e-10)
    const = bicubic_upscale(torch.full((2, 5, 7), 0.7, dtype=torch.float64), 4)
    assert const.shape == (2, 20, 28)
    np.testing.assert_allclose(const.numpy(), 0.7, atol=1e-12)


def test_bicubic_batches_over_leading_axes():
    x = torch.rand(3, 2, 6, 5, dtype=torch.float64)
    up = bicubic_upscale(x, 2)
    assert up.shape == (3, 2, 12, 10)
    np.testing.assert_allclose(up[1, 0].numpy(), _reference_bicubic(x[1, 0].numpy(), 12, 10),
                               atol=1e-10)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("shape", [(9, 13), (24, 24), (5, 31)])
def test_gaussian_blur_matches_scipy_reflect(sigma, shape):
    img = np.random.default_rng(1).random(shape)
    got = gaussian_blur2d(torch.from_numpy(img), sigma).numpy()
    ref = ndimage.gaussian_filter(img, sigma, mode="reflect", truncate=4.0)
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_block_downsample_is_block_mean_and_crops():
    img = np.arange(7 * 9, dtype=np.float64).reshape(7, 9)
    got = block_downsample(torch.from_numpy(img), 3).numpy()
    ref = img[:6, :9].reshape(2, 3, 3, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(got, ref)
    assert crop_to_multiple(torch.zeros(2, 7, 9), 2).shape == (2, 6, 8)
    with pytest.raises(ValueError):
        crop_to_multiple(torch.zeros(3, 3), 4)


@pytest.mark.parametrize("scale", [2, 3, 4, 5])
def test_degrade_shapes_and_definition(scale):
    img = np.random.default_rng(scale).random((2, 23, 17))
    lr = degrade(torch.from_numpy(img), scale).numpy()
    h, w = 23 // scale, 17 // scale
    assert lr.shape == (2, h, w)
    crop = img[:, : h * scale, : w * scale]
    blurred = np.stack([ndimage.gaussian_filter(c, scale / 2, mode="reflect", truncate=4)
                        for c in crop])
    ref = blurred.reshape(2, h, scale, w, scale).mean(axis=(2, 4))
    np.testing.assert_allclose(lr, ref, atol=1e-12)


def test_degrade_rejects_scale_one_and_non_integers():
    with pytest.raises(ValueError):
        degrade(torch.zeros(8, 8), 1)
    with pytest.raises(ValueError):
        degrade(torch.zeros(8, 8), 2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_affine_rule_world_coordinates(scale):
    rng = np.random.default_rng(scale)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    aff = np.eye(4)
    aff[:3, :3] = q * np.array([0.9, 1.1, 2.0])
    aff[:3, 3] = rng.normal(size=3) * 50
    axes = (0, 2)
    lr_aff = downscale_affine(aff, scale, axes)
    # LR voxel i sits at the centre of HR block [s i, s i + s - 1]
    for i in range(3):
        centre = np.mean(np.arange(scale * i, scale * i + scale))
        hr_centre = aff @ np.array([centre, 4.0, centre, 1.0])
        lr_centre = lr_aff @ np.array([i, 4.0, i, 1.0])
        np.testing.assert_allclose(lr_centre, hr_centre, atol=1e-9)
    # upscaling the LR grid returns the HR grid exactly
    np.testing.assert_allclose(upscale_affine(lr_aff, scale, axes), aff, atol=1e-9)
    # HR voxel j of the upscaled grid sits at LR coordinate (j + 0.5)/s - 0.5
    up = upscale_affine(aff, scale, axes)
    for jj in np.arange(6.0):
        got = up @ np.array([jj, 1.0, jj, 1.0])
        ref = aff @ np.array([(jj + 0.5) / scale - 0.5, 1.0, (jj + 0.5) / scale - 0.5, 1.0])
        np.testing.assert_allclose(got, ref, atol=1e-9)
