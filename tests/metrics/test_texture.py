"""Invented texture beyond the input's band: golden values, shapes, bad arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dnsp.metrics import TextureScore, flat_tissue_mask, invented_texture, out_of_band_residual
from dnsp.metrics.texture import fine_fluctuation_gain, residual_noise_fraction
from dnsp.ops import bicubic_upscale
from dnsp.ops.kspace import zero_fill_upscale


def _flat_square(n: int = 64, sigma: float = 0.02, seed: int = 0, slices: int = 1) -> np.ndarray:
    """A bright flat square (value 1) with white noise on a black field: (slices, n, n)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((slices, n, n))
    img[:, n // 8: -n // 8, n // 8: -n // 8] = 1.0
    return img + sigma * rng.standard_normal(img.shape)


def _interior(shape: tuple[int, ...], margin: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[..., margin:-margin, margin:-margin] = True
    return mask


def test_kernel_gain_golden() -> None:
    # 1-D kernel exp(-k^2/2) / sum, k = -4..4: 1 - 2 g0^2 + (sum g^2)^2
    g = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    g /= g.sum()
    expected = math.sqrt(1 - 2 * g[4] ** 2 + float(np.sum(g**2)) ** 2)
    assert fine_fluctuation_gain() == pytest.approx(expected, rel=1e-12)
    assert fine_fluctuation_gain() ** 2 == pytest.approx(0.7613, abs=1e-4)


@pytest.mark.parametrize("scale", [2, 3])
def test_band_limited_output_scores_zero(scale: int) -> None:
    lr = _flat_square(48)
    spec = np.fft.fft2(lr)
    spec[:, 24, :] = 0  # no energy at the LR Nyquist frequency: strictly band-limited
    spec[:, :, 24] = 0
    lr = np.fft.ifft2(spec).real
    out = zero_fill_upscale(torch.from_numpy(lr), scale).numpy()
    np.testing.assert_allclose(out_of_band_residual(out, scale), 0.0, atol=1e-12)
    res = invented_texture(lr, out, scale)
    assert isinstance(res, TextureScore)
    assert res.score == pytest.approx(0.0, abs=1e-10)
    assert res.input_rms > 0 and res.voxels > 0


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_white_noise_scores_its_expected_value(scale: int) -> None:
    """score = sigma_o sqrt(f) / (sigma_i ||delta - g||) on a flat input (f ~ 1 - 1/s^2)."""
    sigma_i, sigma_o = 0.02, 0.01
    lr = _flat_square(64, sigma_i, seed=1, slices=4)
    rng = np.random.default_rng(2)
    band = zero_fill_upscale(torch.from_numpy(lr), scale).numpy()
    out = band + sigma_o * rng.standard_normal(band.shape)
    # inside the square, away from its edges (the smoothing sees only the flat value there)
    mask = _interior(lr.shape, 64 // 8 + 5)
    res = invented_texture(lr, out, scale, mask=mask)
    frac = residual_noise_fraction(band.shape[1:], scale)
    expected = sigma_o * math.sqrt(frac) / (sigma_i * fine_fluctuation_gain())
    assert res.residual_rms == pytest.approx(sigma_o * math.sqrt(frac), rel=0.03)
    assert res.input_rms == pytest.approx(sigma_i * fine_fluctuation_gain(), rel=0.03)
    assert res.score == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize(("shape", "scale"), [((16, 16), 2), ((12, 18), 3), ((8, 12), 2)])
def test_white_noise_fraction_is_exact(shape: tuple[int, int], scale: int) -> None:
    """sum over unit impulses of ||R||^2 = ||I - P||_F^2 = f H W (the module's formula)."""
    h, w = shape
    eye = np.eye(h * w).reshape(h * w, h, w)
    frob = float(np.sum(out_of_band_residual(eye, scale) ** 2))
    assert frob / (h * w) == pytest.approx(residual_noise_fraction(shape, scale), rel=1e-10)
    assert residual_noise_fraction((128, 128), 2) == pytest.approx(0.7520, abs=1e-4)
    assert residual_noise_fraction((81, 81), 3) == pytest.approx(1 - 1 / 9, rel=1e-12)


def test_white_noise_power_fraction_monte_carlo() -> None:
    noise = np.random.default_rng(3).standard_normal((16, 32, 32))
    frac = float(np.mean(out_of_band_residual(noise, 2) ** 2))
    assert frac == pytest.approx(residual_noise_fraction((32, 32), 2), rel=0.02)


def test_default_mask_is_the_flat_bright_tissue() -> None:
    lr = _flat_square(64, 0.02, slices=2)
    mask = flat_tissue_mask(lr)
    assert mask.shape == lr.shape and mask.dtype == bool
    assert mask[:, :10].sum() == 0 and mask[:, 28:36, 28:36].any()  # inside the square only
    inside = (lr > 0.5).sum()
    assert 0.2 * inside < mask.sum() < 0.6 * inside  # eroded, then the flatter half
    assert flat_tissue_mask(lr, flat_quantile=1.0, erosion=0).sum() >= 0.85 * inside
    assert flat_tissue_mask(lr[0]).shape == lr[0].shape
    # cubic interpolation invents less than white noise, more than zero-filling
    cubic = bicubic_upscale(torch.from_numpy(lr), 2).numpy()
    assert 0.0 < invented_texture(lr, cubic, 2).score < 1.0
    # the score ignores the intensity unit
    a = invented_texture(lr, cubic, 2, mask=mask).score
    b = invented_texture(7 * lr, 7 * cubic, 2, mask=mask).score
    assert a == pytest.approx(b, rel=1e-9)


def test_shapes_2d_3d_and_tensors() -> None:
    lr = _flat_square(32)
    out = bicubic_upscale(torch.from_numpy(lr), 2)
    a = invented_texture(lr, out, 2)
    b = invented_texture(lr[0], out[0].numpy(), 2)
    assert a.score == pytest.approx(b.score, rel=1e-12)
    assert out_of_band_residual(out[0], 2).shape == (64, 64)


def test_bad_arguments_raise_clear_errors() -> None:
    lr = _flat_square(32)
    out = zero_fill_upscale(torch.from_numpy(lr), 2).numpy()
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        invented_texture(lr, out, 1)
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        out_of_band_residual(out, 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not the input's"):
        invented_texture(lr, out, 4)
    with pytest.raises(ValueError, match="not multiples of scale"):
        out_of_band_residual(np.zeros((10, 9)), 2)
    with pytest.raises(ValueError, match="must be one slice"):
        invented_texture(np.zeros((1, 1, 8, 8)), out, 2)
    with pytest.raises(ValueError, match="mask shape"):
        invented_texture(lr, out, 2, mask=np.ones((5, 5), bool))
    with pytest.raises(ValueError, match="mask is empty"):
        invented_texture(lr, out, 2, mask=np.zeros(lr.shape, bool))
    with pytest.raises(ValueError, match="empty"):
        invented_texture(np.zeros((16, 16)), np.zeros((32, 32)), 2)
    flat = np.ones((16, 16))
    with pytest.raises(ValueError, match="no fine-scale fluctuation"):
        invented_texture(flat, np.ones((32, 32)), 2, mask=np.ones((16, 16), bool))
    with pytest.raises(ValueError, match="NaN"):
        invented_texture(np.full((16, 16), np.nan), np.ones((32, 32)), 2)
    with pytest.raises(ValueError, match="bright"):
        flat_tissue_mask(lr, bright=0.0)
    with pytest.raises(ValueError, match="erosion"):
        flat_tissue_mask(lr, erosion=-1)
    with pytest.raises(ValueError, match="flat_quantile"):
        flat_tissue_mask(lr, flat_quantile=1.5)
    with pytest.raises(ValueError, match="tissue"):
        flat_tissue_mask(lr, tissue="white")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="width"):
        flat_tissue_mask(lr, tissue="dominant", width=0.0)


def test_dominant_mask_is_the_commonest_flat_tissue_not_the_brightest() -> None:
    # a FLAIR-like slice: a large disc of tissue at 0.4 holding a small bright lesion at 0.9
    g = np.random.default_rng(5)
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 48) ** 2 + (xx - 48) ** 2 < 40**2
    lesion = (yy - 40) ** 2 + (xx - 56) ** 2 < 8**2
    lr = (0.4 * disc + 0.5 * lesion + 0.01 * g.standard_normal((2, 96, 96))) * disc
    bright = flat_tissue_mask(lr)
    dominant = flat_tissue_mask(lr, tissue="dominant")
    assert bright.any() and np.all(lesion[None] | ~bright)  # the bright mask: the lesion only
    assert dominant.sum() > 10 * bright.sum()
    assert not np.any(dominant & lesion[None])  # the tissue around it, not the lesion
    assert not np.any(dominant & ~disc[None])
    assert flat_tissue_mask(lr[0], tissue="dominant").shape == lr[0].shape
    assert not flat_tissue_mask(np.zeros((16, 16)), tissue="dominant").any()


@pytest.mark.parametrize("scale", [2, 3])
def test_fine_texture_sees_noise_inside_the_band(scale: int) -> None:
    """fine_texture: 0 for a smooth output, its white-noise golden value, and it sees what
    invented_texture cannot: noise inside the input's band."""
    from dnsp.metrics import fine_texture

    sigma_i, sigma_o = 0.02, 0.01
    lr = _flat_square(64, sigma_i, seed=3, slices=4)
    mask = _interior(lr.shape, 64 // 8 + 6)
    flat = np.ones((4, 64 * scale, 64 * scale))  # smooth at every scale, no edge ringing
    assert fine_texture(lr, flat, scale, mask=mask) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(4)
    noisy = flat + sigma_o * rng.standard_normal(flat.shape)
    expected = sigma_o * fine_fluctuation_gain(scale) / (sigma_i * fine_fluctuation_gain())
    assert fine_texture(lr, noisy, scale, mask=mask) == pytest.approx(expected, rel=0.05)
    # noise inside the input's band: invisible to invented_texture, seen by fine_texture
    low = zero_fill_upscale(torch.from_numpy(
        sigma_o * scale * rng.standard_normal(lr.shape)), scale).numpy() + flat
    assert invented_texture(lr, low, scale, mask=mask).score < 0.15  # LR Nyquist bins only
    assert fine_texture(lr, low, scale, mask=mask) > 0.3
    with pytest.raises(ValueError, match="shape"):
        fine_texture(lr, flat[:, :-1], scale)
