"""Singular-value thresholding against a direct SVD reference; unfoldings; the operator A."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnsp.methods.svt import fold, svt, unfold


def _reference(m: np.ndarray, tau: float) -> np.ndarray:
    u, s, vh = np.linalg.svd(m, full_matrices=False)
    return (u * np.maximum(s - tau, 0.0)[..., None, :]) @ vh


@pytest.mark.parametrize("shape", [(6, 11), (11, 6), (3, 5, 8), (7, 7)])
@pytest.mark.parametrize("tau", [0.0, 0.3, 1.5])
def test_svt_matches_direct_svd(shape: tuple[int, ...], tau: float) -> None:
    m = np.random.default_rng(1).standard_normal(shape)
    out = svt(torch.from_numpy(m), tau).numpy()
    np.testing.assert_allclose(out, _reference(m, tau), atol=1e-10)


def test_svt_repeated_and_zero_singular_values() -> None:
    # rank-2 matrix with a repeated singular value 2 and zeros: a black-background slice case
    q1, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((8, 8)))
    q2, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((12, 12)))
    s = np.zeros((8, 12))
    s[0, 0] = s[1, 1] = 2.0
    m = q1 @ s @ q2.T
    out = svt(torch.from_numpy(m), 0.5).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 0.75 * m, atol=1e-10)
    np.testing.assert_allclose(svt(torch.from_numpy(m), 2.5).numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(svt(torch.zeros(4, 6, dtype=torch.float64), 0.1).numpy(), 0.0)


def test_svt_is_the_nuclear_prox() -> None:
    # the prox minimises tau ||X||_* + 1/2 ||X - M||^2: random perturbations cannot do better
    rng = np.random.default_rng(4)
    m = rng.standard_normal((5, 9))
    tau = 0.8

    def obj(x: np.ndarray) -> float:
        return tau * np.linalg.svd(x, compute_uv=False).sum() + 0.5 * ((x - m) ** 2).sum()

    x = svt(torch.from_numpy(m), tau).numpy()
    best = obj(x)
    for _ in range(50):
        assert obj(x + 1e-3 * rng.standard_normal(m.shape)) >= best - 1e-12


def test_svt_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        svt(torch.ones(3, 3), -1.0)
    with pytest.raises(ValueError):
        svt(torch.ones(3), 1.0)


def test_unfold_fold_roundtrip() -> None:
    x = torch.arange(60.0).reshape(3, 4, 5)
    for mode in range(3):
        u = unfold(x, mode)
        assert u.shape == (x.shape[mode], 60 // x.shape[mode])
        assert torch.equal(fold(u, mode, (3, 4, 5)), x)
    assert torch.equal(unfold(x, 1)[2], x[:, 2, :].reshape(-1))
