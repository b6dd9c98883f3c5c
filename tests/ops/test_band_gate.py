"""The out-of-band noise gate: identity cases, an exact shrinkage, the in-band part kept."""

from __future__ import annotations

import pytest
import torch

from dnsp.ops.band_gate import band_gate, inband


def _inband(x: torch.Tensor, s: int = 2) -> torch.Tensor:
    return inband(x, s)


def test_inband_is_an_orthogonal_projection() -> None:
    g = torch.Generator().manual_seed(2)
    x, y = (torch.rand(2, 24, 30, generator=g, dtype=torch.float64) for _ in range(2))
    px = inband(x, 2)
    torch.testing.assert_close(inband(px, 2), px, atol=1e-12, rtol=0)  # P P = P
    assert float((px * y).sum()) == pytest.approx(float((x * inband(y, 2)).sum()))  # P' = P
    # a cosine of 5 cycles over 24 rows is inside the 12-row band (|k| < 6); 6 cycles is not
    rows = torch.arange(24, dtype=torch.float64)[:, None].expand(24, 30)
    inside, nyq = torch.cos(2 * torch.pi * 5 * rows / 24), torch.cos(2 * torch.pi * 6 * rows / 24)
    torch.testing.assert_close(inband(inside, 2), inside, atol=1e-12, rtol=0)
    torch.testing.assert_close(inband(nyq, 2), torch.zeros_like(nyq), atol=1e-12, rtol=0)


def test_checkerboard_is_shrunk_by_the_wiener_factor() -> None:
    # (-1)^(i+j) lies wholly beyond the band of a half matrix: R = it, E = a^2 everywhere
    i, j = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    a, sigma, k = 0.03, 0.01, 2.0
    board = a * (-1.0) ** (i + j).double()
    out = band_gate(board, 2, sigma, k)
    factor = a * a / (a * a + (k * sigma) ** 2)
    torch.testing.assert_close(out, board * factor, atol=1e-12, rtol=0)  # (1 - P) G = G here


def test_noise_free_input_and_band_limited_output_are_unchanged() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 32, 40, generator=g, dtype=torch.float64)
    assert band_gate(x, 2, 0.0) is x  # sigma 0: nothing to gate
    assert band_gate(x, 2, 0.05, strength=0.0) is x
    smooth = _inband(x)  # no out-of-band part
    torch.testing.assert_close(band_gate(smooth, 2, 0.05), smooth, atol=1e-10, rtol=0)


def test_in_band_part_is_kept_and_strong_edges_pass() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(1, 48, 48, dtype=torch.float64)
    x[:, :, 24:] = 1.0  # a step: out-of-band energy far above the noise
    noisy = x + 0.002 * torch.randn(x.shape, generator=g, dtype=torch.float64)
    out = band_gate(noisy, 2, 0.002)
    torch.testing.assert_close(_inband(out), _inband(noisy), atol=1e-10, rtol=0)
    edge = (slice(None), slice(None), slice(20, 28))
    assert (out - noisy)[edge].abs().max() < 0.01  # the edge's residual passes
    # noise on a smooth (band-limited) image: what lies beyond the band is faded
    smooth = _inband(torch.rand(1, 48, 48, generator=g, dtype=torch.float64))
    noisy = smooth + 0.01 * torch.randn(smooth.shape, generator=g, dtype=torch.float64)
    out = band_gate(noisy, 2, 0.01)
    r_in = (noisy - _inband(noisy)).pow(2).mean().sqrt()
    r_out = (out - _inband(out)).pow(2).mean().sqrt()
    assert r_out < 0.4 * r_in


def test_float32_in_float32_out_and_bad_arguments() -> None:
    x = torch.rand(1, 16, 16)
    assert band_gate(x, 2, 0.01).dtype == torch.float32
    assert band_gate(torch.rand(3, 1, 12, 12), 3, 0.01).shape == (3, 1, 12, 12)
    with pytest.raises(ValueError, match="scale"):
        band_gate(x, 1, 0.01)
    with pytest.raises(ValueError, match="multiples"):
        band_gate(torch.rand(1, 15, 16), 2, 0.01)
    with pytest.raises(ValueError, match=">= 0"):
        band_gate(x, 2, -0.1)
