"""Rician noise: moments on a constant image, Rayleigh background, seeding, bad sigma."""

import math

import pytest
import torch
from scipy import special

from dnsp.ops.noise import rician_noise


def _rice_mean(a: float, s: float) -> float:
    v = a * a / (4 * s * s)
    return s * math.sqrt(math.pi / 2) * math.exp(-v) * (
        (1 + 2 * v) * special.i0(v) + 2 * v * special.i1(v))


@pytest.mark.parametrize(("a", "s"), [(2.0, 1.0), (0.5, 0.2), (0.0, 0.3)])
def test_moments_match_theory(a: float, s: float) -> None:
    g = torch.Generator().manual_seed(0)
    y = rician_noise(torch.full((800, 800), a, dtype=torch.float64), s, g)
    assert y.mean().item() == pytest.approx(_rice_mean(a, s), rel=3e-3)
    assert (y**2).mean().item() == pytest.approx(a * a + 2 * s * s, rel=3e-3)
    var_theory = a * a + 2 * s * s - _rice_mean(a, s) ** 2
    assert y.var().item() == pytest.approx(var_theory, rel=1e-2)


def test_seeded_and_zero_sigma() -> None:
    x = torch.rand(4, 5)
    a = rician_noise(x, 0.1, torch.Generator().manual_seed(3))
    b = rician_noise(x, 0.1, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and (a >= 0).all()
    assert torch.equal(rician_noise(x, 0.0), x)


def test_negative_sigma_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        rician_noise(torch.rand(3, 3), -0.1)
