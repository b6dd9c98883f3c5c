"""Smoothed-rank prior (paper Eqs. 2-4) against its closed forms."""

import math

import pytest
import torch

from dnsp.priors import SmoothedRank, smoothed_rank


def _with_singular_values(s: list[float], m: int, n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(m, m, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    sig = torch.zeros(m, n, dtype=torch.float64)
    for i, val in enumerate(s):
        sig[i, i] = val
    return u @ sig @ v.T


def _eq4_gradient(y: torch.Tensor, delta: float) -> torch.Tensor:
    """Eq. 4: -U diag(-sigma_i / delta^2 exp(-sigma_i^2 / 2 delta^2)) Z^T."""
    u, s, vh = torch.linalg.svd(y, full_matrices=False)
    g = -(-s / delta**2 * torch.exp(-(s**2) / (2 * delta**2)))
    return -(u @ torch.diag(-g) @ vh)


def test_golden_values() -> None:
    y = torch.zeros(1, 3, 3, dtype=torch.float64)
    assert smoothed_rank(y, 0.01).item() == 0.0
    y[0, 0, 0] = 1.0
    assert smoothed_rank(y, 0.01).item() == pytest.approx(1.0, abs=1e-12)
    y2 = torch.diag(torch.tensor([0.02, 0.0, 0.0], dtype=torch.float64)).unsqueeze(0)
    expected = 3 - (math.exp(-(0.02**2) / (2 * 0.01**2)) + 2)
    assert smoothed_rank(y2, 0.01).item() == pytest.approx(expected, rel=1e-12)


def test_shapes_and_rectangular() -> None:
    assert smoothed_rank(torch.rand(5, 1, 7, 4)).shape == (5,)
    assert smoothed_rank(torch.rand(5, 7, 4)).shape == (5,)
    # R = min(H, W): a full-rank well-conditioned 7x4 image has smoothed rank 4
    y = _with_singular_values([1.0, 0.9, 0.8, 0.7], 7, 4).unsqueeze(0)
    assert smoothed_rank(y, 0.01).item() == pytest.approx(4.0)


@pytest.mark.parametrize(
    "sigmas",
    [
        [0.05, 0.03, 0.02, 0.01, 0.005],  # distinct
        [0.02, 0.02, 0.02, 0.01, 0.0],  # repeated and zero
        [0.0, 0.0, 0.0, 0.0, 0.0],  # all zero (black image)
    ],
)
def test_autograd_matches_eq4(sigmas: list[float]) -> None:
    delta = 0.02
    y = _with_singular_values(sigmas, 6, 5).requires_grad_(True)
    smoothed_rank(y.unsqueeze(0), delta).sum().backward()
    assert y.grad is not None and torch.isfinite(y.grad).all()
    torch.testing.assert_close(y.grad, _eq4_gradient(y.detach(), delta), atol=1e-10, rtol=1e-8)


def test_black_background_gradient_finite() -> None:
    y = torch.zeros(2, 1, 16, 16, dtype=torch.float64)
    y[:, :, 5:9, 6:10] = torch.rand(2, 1, 4, 4, dtype=torch.float64)
    y.requires_grad_(True)
    smoothed_rank(y, 0.01).sum().backward()
    assert torch.isfinite(y.grad).all()


def test_gradcheck() -> None:
    y = _with_singular_values([0.05, 0.04, 0.02, 0.01], 5, 4).unsqueeze(0).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: smoothed_rank(t, 0.03), (y,))


def test_float32_under_autocast() -> None:
    y = torch.rand(2, 1, 12, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = smoothed_rank(y.to(torch.bfloat16), 0.01)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, smoothed_rank(y.to(torch.bfloat16).float(), 0.01))


def test_batch_independent() -> None:
    y = torch.rand(6, 1, 10, 10, dtype=torch.float64)
    full = smoothed_rank(y, 0.1)
    single = torch.stack([smoothed_rank(y[i : i + 1], 0.1)[0] for i in range(6)])
    torch.testing.assert_close(full, single)


def test_module_equals_function() -> None:
    y = torch.rand(3, 1, 9, 9)
    torch.testing.assert_close(SmoothedRank(0.05)(y), smoothed_rank(y, 0.05))


@pytest.mark.parametrize("delta", [0, -1.0, float("nan"), "a"])
def test_bad_delta(delta: object) -> None:
    with pytest.raises(ValueError, match="delta"):
        smoothed_rank(torch.rand(1, 4, 4), delta)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(4, 4), (1, 2, 4, 4), (1, 1, 1, 4, 4), (1, 2, 2)])
def test_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"shape|3x3"):
        smoothed_rank(torch.rand(shape))
