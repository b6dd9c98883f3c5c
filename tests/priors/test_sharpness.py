"""Sharpness priors (paper Eqs. 8, 9, 21) against the closed forms of Eqs. 19-24, 27, 29, 30."""

import numpy as np
import pytest
import torch

from dnsp.ops.laplacian import LAPLACIAN_KERNEL
from dnsp.priors import (
    LaplacianVariance,
    SharpnessFilters,
    filter_variance,
    laplacian_variance,
    max_filter_gain,
    sharpness_measure,
)

L = np.array(LAPLACIAN_KERNEL)


def _corr_valid(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """p_ij = sum_{k,m} w_km y_{i+k, j+m} (cross-correlation, SPEC convention)."""
    k = w.shape[0]
    h, wd = y.shape[0] - k + 1, y.shape[1] - k + 1
    p = np.zeros((h, wd))
    for a in range(k):
        for b in range(k):
            p += w[a, b] * y[a : a + h, b : b + wd]
    return p


def _d(p: np.ndarray) -> np.ndarray:
    """Eq. 19 with the SPEC typo fix: d_ij = 2 (p_ij - mean P) / (n - 1)."""
    return 2.0 * (p - p.mean()) / (p.size - 1)


def _grad_y_closed(y: np.ndarray, filters: list[np.ndarray]) -> np.ndarray:
    """Eq. 27 (Eq. 24 for the single filter L): v_ab = 1/N_L sum_l sum_km W^l_km d^l_{a-k,b-m}."""
    v = np.zeros_like(y)
    for w in filters:
        d = _d(_corr_valid(y, w))
        h, wd = d.shape
        for a in range(3):
            for b in range(3):
                v[a : a + h, b : b + wd] += w[a, b] * d
    return v / len(filters)


def _grad_w_closed(y: np.ndarray, w: np.ndarray, n_l: int) -> np.ndarray:
    """Eq. 30: dV_mod/dW^l_km = 1/N_L (D^l <> Y'), Y'_ij = y_{i+k, j+m}."""
    d = _d(_corr_valid(y, w))
    h, wd = d.shape
    g = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            g[a, b] = (d * y[a : a + h, b : b + wd]).sum()
    return g / n_l


def test_laplacian_variance_golden() -> None:
    y = torch.zeros(1, 4, 4, dtype=torch.float64)
    y[0, 1, 1] = 1.0  # valid Laplacian = [[4, -1], [-1, 0]]
    assert laplacian_variance(y).item() == pytest.approx(17.0 / 3.0)
    assert laplacian_variance(torch.ones(2, 1, 8, 8)).tolist() == [0.0, 0.0]
    # linear ramps have zero Laplacian
    ramp = torch.arange(36, dtype=torch.float64).view(1, 6, 6)
    assert laplacian_variance(ramp).item() == pytest.approx(0.0, abs=1e-20)


def test_laplacian_variance_decreases_with_blur() -> None:
    from dnsp.ops import gaussian_blur2d

    gen = torch.Generator().manual_seed(0)
    y = torch.rand(1, 1, 48, 48, generator=gen, dtype=torch.float64)
    values = [laplacian_variance(gaussian_blur2d(y, s)).item() for s in (0.5, 1.0, 2.0, 3.0)]
    assert values == sorted(values, reverse=True)


def test_laplacian_variance_gradient_matches_eqs_19_24() -> None:
    rng = np.random.default_rng(0)
    y = rng.random((9, 11))
    t = torch.tensor(y).view(1, 1, 9, 11).requires_grad_(True)
    laplacian_variance(t).sum().backward()
    np.testing.assert_allclose(t.grad[0, 0].numpy(), _grad_y_closed(y, [L]), atol=1e-12)


def test_filter_variance_gradients_match_eqs_27_30() -> None:
    rng = np.random.default_rng(1)
    y = rng.random((10, 8))
    ws = [L + 0.1 * rng.standard_normal((3, 3)) for _ in range(4)]
    t = torch.tensor(y).view(1, 1, 10, 8).requires_grad_(True)
    w = torch.tensor(np.stack(ws)).unsqueeze(1).requires_grad_(True)
    filter_variance(t, w).sum().backward()
    np.testing.assert_allclose(t.grad[0, 0].numpy(), _grad_y_closed(y, ws), atol=1e-12)
    for i, wi in enumerate(ws):
        np.testing.assert_allclose(w.grad[i, 0].numpy(), _grad_w_closed(y, wi, 4), atol=1e-12)


def test_filter_variance_with_laplacian_equals_fixed_prior() -> None:
    y = torch.rand(3, 1, 12, 12, dtype=torch.float64)
    w = torch.tensor(L).view(1, 1, 3, 3).repeat(5, 1, 1, 1)
    torch.testing.assert_close(filter_variance(y, w), laplacian_variance(y))


def test_sharpness_measure_golden() -> None:
    impulse = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    impulse[0, 0, 2, 2] = 1.0
    flat = torch.full((1, 1, 5, 5), 0.7, dtype=torch.float64)
    w = torch.tensor(L).view(1, 1, 3, 3)
    # smooth (constant) response is 0; the impulse's valid response holds L: ||L||_F^2 = 20
    assert sharpness_measure(w, impulse, flat).item() == pytest.approx(-20.0)


def test_sharpness_measure_gradient_matches_eq_29() -> None:
    rng = np.random.default_rng(2)
    sh = rng.random((3, 7, 7))
    sm = rng.random((3, 7, 7)) * 0.1
    ws = [L + 0.05 * rng.standard_normal((3, 3)) for _ in range(2)]
    w = torch.tensor(np.stack(ws)).unsqueeze(1).requires_grad_(True)
    sharpness_measure(w, torch.tensor(sh).unsqueeze(1), torch.tensor(sm).unsqueeze(1)).backward()
    for i, wi in enumerate(ws):
        expected = np.zeros((3, 3))
        for patches, sign in ((sm, 1.0), (sh, -1.0)):
            for pa in patches:
                r = _corr_valid(pa, wi)
                h, wd = r.shape
                for a in range(3):
                    for b in range(3):
                        expected[a, b] += sign * 2.0 * (r * pa[a : a + h, b : b + wd]).sum()
        np.testing.assert_allclose(w.grad[i, 0].numpy(), expected, atol=1e-10)


def test_gradcheck_all() -> None:
    y = torch.rand(2, 1, 6, 7, dtype=torch.float64, requires_grad=True)
    w = torch.rand(3, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    sh = torch.rand(2, 1, 5, 5, dtype=torch.float64)
    sm = torch.rand(2, 1, 5, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(laplacian_variance, (y,))
    assert torch.autograd.gradcheck(filter_variance, (y, w))
    assert torch.autograd.gradcheck(lambda f: sharpness_measure(f, sh, sm), (w,))


def test_shapes_and_module() -> None:
    y = torch.rand(4, 1, 16, 16)
    assert laplacian_variance(y).shape == (4,)
    assert filter_variance(y, torch.rand(8, 1, 3, 3)).shape == (4,)
    assert sharpness_measure(torch.rand(8, 1, 3, 3), y, y).shape == ()
    torch.testing.assert_close(LaplacianVariance()(y), laplacian_variance(y))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="filters"):
        filter_variance(torch.rand(1, 1, 8, 8), torch.rand(8, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        laplacian_variance(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="3x3"):
        laplacian_variance(torch.rand(1, 2, 8))
    with pytest.raises(ValueError, match="sharp"):
        sharpness_measure(torch.rand(2, 1, 3, 3), torch.rand(5, 5), torch.rand(1, 5, 5))


def test_sharpness_filters_init_and_norm() -> None:
    f = SharpnessFilters(8, seed=3)
    lap = torch.tensor(L, dtype=torch.float32).view(1, 1, 3, 3)
    dev = f() - lap
    assert f().shape == (8, 1, 3, 3)
    assert 0.003 < dev.std().item() < 0.03  # N(0, 1e-4): std 0.01
    torch.testing.assert_close(SharpnessFilters(8, seed=3)(), f())  # seeded
    u = SharpnessFilters(8, norm="unit", seed=3)
    with torch.no_grad():
        u.weight.mul_(7.0).add_(2.0)
    w = u()
    torch.testing.assert_close(w.sum(dim=(-2, -1)), torch.zeros(8, 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(w.flatten(1).norm(dim=1), torch.full((8,), 20**0.5))
    for bad in ({"n_filters": 0}, {"size": 5}, {"noise_var": -1.0}, {"norm": "l2"}):
        with pytest.raises(ValueError):
            SharpnessFilters(**bad)  # type: ignore[arg-type]


def test_gram_form_equals_direct_measure_and_gradient() -> None:
    from dnsp.priors import sharpness_gram, sharpness_measure_from_gram

    gen = torch.Generator().manual_seed(5)
    sh = torch.rand(7, 1, 12, 12, generator=gen, dtype=torch.float64)
    sm = 0.2 * torch.rand(5, 1, 12, 12, generator=gen, dtype=torch.float64)
    w1 = torch.randn(4, 1, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_(True)
    direct = sharpness_measure(w1, sh, sm)
    gram = sharpness_measure_from_gram(w2, sharpness_gram(sh, sm))
    torch.testing.assert_close(gram, direct)
    direct.backward()
    gram.backward()
    torch.testing.assert_close(w2.grad, w1.grad)
    with pytest.raises(ValueError, match="gram"):
        sharpness_measure_from_gram(w1, torch.zeros(4, 4))


def test_max_filter_gain_golden_values() -> None:
    lap = torch.tensor(L, dtype=torch.float64).view(1, 1, 3, 3)
    assert float(max_filter_gain(lap)) == pytest.approx(64.0)  # response -8 at (pi, pi)
    delta = torch.zeros(1, 1, 3, 3)
    delta[0, 0, 1, 1] = 1.0
    assert float(max_filter_gain(delta)) == pytest.approx(1.0)
    # the bank's gain is the maximum of the *mean* squared response: 2 x delta and Laplacian
    bank = torch.cat([2 * delta, lap.float()])
    assert float(max_filter_gain(bank)) == pytest.approx((4 + 64) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="grid"):
        max_filter_gain(lap, grid=7)
    with pytest.raises(ValueError, match="filters must have shape"):
        max_filter_gain(torch.ones(3, 3))
