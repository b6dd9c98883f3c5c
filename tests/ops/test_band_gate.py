"""The out-of-band noise and flat gates: identity cases, exact shrinkage, the in-band part kept."""

from __future__ import annotations

import pytest
import torch

from dnsp.ops.band_gate import (
    SMOOTH_READ_PASSES,
    band_gate,
    flat_gate,
    flat_weight,
    gate_beyond_band,
    inband,
)


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


def _board(n: int = 32, a: float = 0.03) -> torch.Tensor:
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return a * (-1.0) ** (i + j).double()  # wholly beyond the band of a half matrix


def test_flat_gate_removes_out_of_band_texture_on_flat_anatomy() -> None:
    # a flat input, its upscaling plus a checkerboard: E = 0, so W = 0 and O' = P O exactly
    lr = torch.full((16, 16), 0.5, dtype=torch.float64)
    out = flat_gate(0.5 + _board(), lr, 0.04)
    torch.testing.assert_close(out, torch.full_like(out, 0.5), atol=1e-12, rtol=0)
    assert float(flat_weight(lr, 2, 0.04).max()) == 0.0


def test_flat_gate_keeps_out_of_band_detail_at_strong_edges() -> None:
    # a smooth bar of contrast 0.6 (columns 32-96) plus the checkerboard: at its edges
    # (gradient ~0.15 per input voxel >> tau) the board stays, in its flat middle it goes
    cols = torch.arange(128, dtype=torch.float64)
    bar = 0.2 + 0.6 * (torch.sigmoid((cols - 31.5) / 2.0) - torch.sigmoid((cols - 95.5) / 2.0))
    image = bar.expand(128, 128)
    lr = image.reshape(64, 2, 64, 2).mean(dim=(1, 3))
    w = flat_weight(lr, 2, 0.04)
    assert w.shape == (128, 128) and float(w[:, 30:34].min()) > 0.8
    assert float(w[:, 56:72].max()) < 0.01
    board = _board(128)
    out = flat_gate(image + board, lr, 0.04)

    def board_amplitude(c: slice) -> float:
        return float((out[:, c] * board[:, c]).mean() / 0.03**2 * 0.03)

    assert board_amplitude(slice(30, 34)) > 0.8 * 0.03
    assert abs(board_amplitude(slice(56, 72))) < 0.1 * 0.03
    torch.testing.assert_close(inband(out, 2), inband(image, 2), atol=1e-12, rtol=0)


def test_flat_gate_shows_little_ringing_next_to_a_crisp_edge() -> None:
    # a crisp bar on the output grid (a network's skull-strip edge): fading what lies beyond
    # the band right next to it leaves the edge's Gibbs ringing in the flat background; the
    # weight kept within two input voxels of the edge cancels most of it there
    out = torch.zeros(96, 96, dtype=torch.float64)
    out[:, 48:72] = 0.5
    lr = out.reshape(48, 2, 48, 2).mean(dim=(1, 3))
    near = slice(36, 47)  # 1-6 input voxels before the edge at 48

    def ringing(reach: int, background: bool = False) -> float:
        low = inband(out, 2)
        kept = (out - low) * flat_weight(lr, 2, 0.04, reach, background).double()
        return float((low + kept - inband(kept, 2))[:, near].pow(2).mean().sqrt())

    gated = flat_gate(out, lr, 0.04)
    assert float(gated[:, near].pow(2).mean().sqrt()) == pytest.approx(ringing(2, True),
                                                                       abs=1e-12)
    assert ringing(2) < 0.6 * ringing(0)
    # the masked background (the input's minimum) keeps its cancellation all the way out
    assert ringing(2, True) < 0.5 * ringing(2)
    assert float(gated[:, :40].abs().max()) < 0.01 * 0.5


def test_flat_weight_is_one_over_a_masked_background() -> None:
    lr = torch.zeros(40, 40, dtype=torch.float64)
    lr[8:32, 8:32] = 0.5  # a flat square on a zero background
    w = flat_weight(lr, 1, 0.04, reach=0)
    assert float(w[0, 20]) == 1.0 and float(w[20, 20]) < 1e-3  # background / flat middle
    assert float(w[6, 20]) == 1.0 and float(w[7, 20]) < 1.0  # the 3 x 3 erosion of the minimum
    assert float(flat_weight(lr, 1, 0.04, reach=0, background=False)[0, 20]) < 1e-3
    # a constant input has no background: nothing is kept beyond the band
    assert float(flat_weight(torch.full((8, 8), 0.5), 1, 0.04).max()) == 0.0


def test_more_passes_keep_the_edges_tails_out_of_flat_tissue() -> None:
    # a crisp bar on the output grid: one pass leaves -P(W R), a tail of the edge's
    # out-of-band part, in the flat tissue beyond the weight's reach; alternating between the
    # band and the weight takes most of it out there, and keeps half of the part beyond the
    # band at the edge (the price: that part's own tail is what is taken out)
    out = torch.zeros(96, 96, dtype=torch.float64)
    out[:, 24:72] = 0.5
    lr = out.reshape(48, 2, 48, 2).mean(dim=(1, 3))
    flat, edge = slice(36, 60), slice(22, 26)  # inside the bar, 6+ input voxels from its edges

    def beyond(passes: int) -> torch.Tensor:
        gated = flat_gate(out, lr, 0.04, passes=passes)
        torch.testing.assert_close(inband(gated, 2), inband(out, 2), atol=1e-12, rtol=0)
        return gated - inband(gated, 2)

    one, five = beyond(1), beyond(SMOOTH_READ_PASSES)
    torch.testing.assert_close(one, flat_gate(out, lr, 0.04) - inband(out, 2), atol=1e-12,
                               rtol=0)
    rms = [float(r[:, flat].pow(2).mean().sqrt()) for r in (one, five)]
    assert rms[0] > 1e-3 and rms[1] < 0.5 * rms[0]
    kept = [float(r[:, edge].pow(2).mean().sqrt()) for r in (one, five)]
    assert kept[1] > 0.4 * kept[0] > 0.01  # 0.48 at 10 passes
    # a flat input has W = 0: nothing is kept beyond the band, whatever the passes
    lr0 = torch.full((16, 16), 0.5, dtype=torch.float64)
    torch.testing.assert_close(flat_gate(0.5 + _board(), lr0, 0.04, passes=3),
                               torch.full((32, 32), 0.5, dtype=torch.float64), atol=1e-12,
                               rtol=0)


@pytest.mark.parametrize("passes", [0, -1, 1.5, True])
def test_flat_gate_passes_must_be_a_positive_integer(passes: object) -> None:
    with pytest.raises(ValueError, match="passes"):
        flat_gate(torch.zeros(8, 8), torch.zeros(4, 4), 0.04, passes=passes)  # type: ignore[arg-type]


def test_flat_gate_identity_cases_and_dtype() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 32, 40, generator=g)
    lr = x[:, ::2, ::2]
    assert flat_gate(x, lr, 0.0) is x  # off
    limited = inband(x.double(), 2)  # nothing beyond the band: nothing to fade
    torch.testing.assert_close(flat_gate(limited, lr, 0.04), limited, atol=1e-12, rtol=0)
    out = flat_gate(x, lr, 0.04)
    assert out.dtype == torch.float32 and out.shape == x.shape
    torch.testing.assert_close(inband(out.double(), 2), limited, atol=1e-5, rtol=0)  # P O' = P O


def test_flat_gate_fades_more_with_a_higher_threshold() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 48, 48, generator=g, dtype=torch.float64)
    lr = x[:, ::2, ::2]
    low = inband(x, 2)
    beyond = [float((flat_gate(x, lr, t) - low).norm()) for t in (0.01, 0.04, 0.16)]
    assert beyond[0] > beyond[1] > beyond[2] > 0


def test_both_gates_in_one_call() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.rand(2, 32, 32, generator=g, dtype=torch.float64)
    lr = x[:, ::2, ::2]
    torch.testing.assert_close(gate_beyond_band(x, 2, noise=0.05, strength=2.0),
                               band_gate(x, 2, 0.05, 2.0), atol=0, rtol=0)
    torch.testing.assert_close(gate_beyond_band(x, 2, lr=lr, threshold=0.04),
                               flat_gate(x, lr, 0.04), atol=0, rtol=0)
    both = gate_beyond_band(x, 2, noise=0.05, strength=2.0, lr=lr, threshold=0.04)
    torch.testing.assert_close(inband(both, 2), inband(x, 2), atol=1e-12, rtol=0)
    noise_only = band_gate(x, 2, 0.05, 2.0)
    assert float((both - inband(x, 2)).norm()) < float((noise_only - inband(x, 2)).norm())
    with pytest.raises(ValueError, match="input slices"):
        gate_beyond_band(x, 2, threshold=0.04)  # the flat gate needs lr


@pytest.mark.parametrize(("out_shape", "lr_shape", "threshold"), [
    ((8, 8), (8, 8), 0.04), ((8, 8), (4, 4), -0.1), ((8, 9), (4, 4), 0.04),
    ((8, 8), (4, 4), float("nan")), ((2, 8, 8), (3, 4, 4), 0.04),
])
def test_flat_gate_bad_arguments(out_shape: tuple[int, ...], lr_shape: tuple[int, ...],
                                 threshold: float) -> None:
    with pytest.raises(ValueError):
        flat_gate(torch.zeros(out_shape), torch.zeros(lr_shape), threshold)
    with pytest.raises(ValueError, match="threshold"):
        flat_weight(torch.zeros(4, 4), 2, 0.0)
    with pytest.raises(ValueError, match="reach"):
        flat_weight(torch.zeros(4, 4), 2, 0.04, -1)


def test_shipped_gates_on_when_estimated_off_when_named() -> None:
    from dnsp.ops.band_gate import DEFAULT_FLAT_GATE, DEFAULT_GATE, shipped_gates

    assert shipped_gates(named=False) == {"gate": DEFAULT_GATE, "flat": DEFAULT_FLAT_GATE}
    assert shipped_gates(named=True) == {"gate": 0.0, "flat": 0.0}
