"""k-space truncation and zero-filling: exactness, grid, mean, windows, bad arguments."""

import math

import pytest
import torch

from dnsp.ops.kspace import WINDOWS, kspace_downsample, kspace_window, zero_fill_upscale


def _band_limited(n: int, m: int, seed: int = 0) -> torch.Tensor:
    """A real (n, n) image with energy only at |k| < m / 2 on both axes."""
    g = torch.Generator().manual_seed(seed)
    spec = torch.zeros(n, n, dtype=torch.complex128)
    ks = range(-((m - 1) // 2), (m - 1) // 2 + 1) if m % 2 else range(-m // 2 + 1, m // 2)
    for a in ks:
        for b in ks:
            spec[a % n, b % n] = complex(*torch.randn(2, generator=g, dtype=torch.float64))
    x = torch.fft.ifft2(spec)
    return ((x + x.conj()) / 2).real


@pytest.mark.parametrize(("n", "s"), [(24, 2), (24, 3), (24, 4), (30, 2), (30, 3), (20, 4)])
def test_zero_fill_inverts_truncation_on_band_limited_images(n: int, s: int) -> None:
    x = _band_limited(n, n // s)
    y = kspace_downsample(x, s)
    assert y.shape == (n // s, n // s)
    torch.testing.assert_close(zero_fill_upscale(y, s), x, atol=1e-12, rtol=0)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_lr_samples_sit_at_the_block_centres(s: int) -> None:
    """LR sample i of a low-frequency cosine equals the cosine at s*i + (s-1)/2 (SPEC sec. 4)."""
    n, f = 24, 2
    t = torch.arange(n, dtype=torch.float64)
    x = torch.cos(2 * math.pi * f * t / n)[None, :].repeat(n, 1)
    y = kspace_downsample(x, s)
    centres = s * torch.arange(n // s, dtype=torch.float64) + (s - 1) / 2
    torch.testing.assert_close(y[0], torch.cos(2 * math.pi * f * centres / n), atol=1e-12,
                               rtol=0)


@pytest.mark.parametrize("window", WINDOWS)
def test_mean_is_preserved(window: str) -> None:
    x = torch.rand(3, 16, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = kspace_downsample(x, 2, window)
    torch.testing.assert_close(y.mean(dim=(-2, -1)), x.mean(dim=(-2, -1)), atol=1e-12, rtol=0)


def test_windows_golden_values() -> None:
    w = kspace_window(8, "hamming")  # FFT order: k = 0, 1, 2, 3, -4, -3, -2, -1
    assert w[0].item() == pytest.approx(1.0)
    assert w[4].item() == pytest.approx(0.08)
    assert w[2].item() == pytest.approx(0.54)
    assert kspace_window(8, "hann")[4].item() == pytest.approx(0.0)
    tukey = kspace_window(8, "tukey", 0.5)
    assert tukey[1].item() == pytest.approx(1.0) and tukey[3].item() == pytest.approx(0.5)
    assert torch.equal(kspace_window(8, "tukey", 0.0), torch.ones(8, dtype=torch.float64))
    fermi = kspace_window(64, "fermi", 0.1)
    assert fermi[0].item() == pytest.approx(1.0, abs=1e-6) and fermi[32].item() < 1e-3


def test_hamming_attenuates_high_frequencies() -> None:
    x = torch.randn(32, 32, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    box, ham = kspace_downsample(x, 2), kspace_downsample(x, 2, "hamming")
    assert ham.diff(dim=-1).abs().mean() < 0.8 * box.diff(dim=-1).abs().mean()


def test_dtype_and_batch_shapes() -> None:
    x = torch.rand(2, 3, 12, 18)
    y = kspace_downsample(x, 3)
    assert y.shape == (2, 3, 4, 6) and y.dtype == torch.float32
    assert zero_fill_upscale(y, 3).shape == (2, 3, 12, 18)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="multiple of 2"):
        kspace_downsample(torch.rand(11, 12), 2)
    with pytest.raises(ValueError, match="valid windows"):
        kspace_downsample(torch.rand(12, 12), 2, "gauss")
    with pytest.raises(ValueError, match="alpha"):
        kspace_window(8, "tukey", 1.5)
    with pytest.raises(ValueError, match="width"):
        kspace_window(8, "fermi", 0.0)
    with pytest.raises(ValueError, match="no parameter"):
        kspace_window(8, "hamming", 0.3)
    with pytest.raises(ValueError, match="integer"):
        kspace_downsample(torch.rand(12, 12), 0)
    with pytest.raises(ValueError, match="2 dimensions"):
        zero_fill_upscale(torch.rand(12), 2)
