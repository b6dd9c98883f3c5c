"""LRTV (Shi et al. 2015): ADMM objective, optimality, convergence criterion, quality."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from dnsp.acquisition import GaussianAcquisition
from dnsp.methods import get_method
from dnsp.methods.lrtv import LRTV, grad, grad_adjoint, lrtv_objective

Phantom = Callable[[int, int, int], np.ndarray]
Degrade = Callable[[np.ndarray, int], np.ndarray]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


@pytest.mark.parametrize("axes", [(0, 1, 2), (1, 2)])
def test_grad_adjoint(axes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((4, 6, 7)))
    p = torch.from_numpy(rng.standard_normal((len(axes), 4, 6, 7)))
    assert abs(float((grad(x, axes) * p).sum() - (x * grad_adjoint(p, axes)).sum())) < 1e-10
    # Neumann: last difference is zero; constants have zero gradient
    assert float(grad(x, axes)[-1, :, :, -1].abs().max()) == 0.0
    assert float(grad(torch.ones(4, 6, 7), axes).abs().max()) == 0.0


@pytest.mark.parametrize(("penalty", "settle"), [(0.05, 5), (0.01, 15)])
def test_admm_objective_decreases(
    small_stack: np.ndarray, make_lr: Degrade, penalty: float, settle: int
) -> None:
    lr = make_lr(small_stack, 2)
    m = LRTV(
        lambda_rank=0.05,
        lambda_tv=0.01,
        rho=penalty,
        mu=penalty,
        dtype="float64",
        max_iter=40,
        tol=1e-9,
    )
    _, res = m.solve(lr, 2, record_objective=True)
    h = np.asarray(res.objective)
    assert len(h) == res.iterations + 1 == 41
    assert h[-1] < h[0] - 0.02 * abs(h[0])
    # ADMM is not a descent method in its first steps (longer with small penalties, 0.01 is
    # the default); after them the objective decreases monotonically
    assert np.all(np.diff(h[settle:]) <= 1e-6 * abs(h[0]))


@pytest.mark.parametrize("mode", ["3d", "2d"])
def test_admm_reaches_the_minimum(mode: str, make_phantom: Phantom, make_lr: Degrade) -> None:
    hr = make_phantom(4, 12, seed=3)
    lr = make_lr(hr, 2)
    m = LRTV(
        lambda_rank=0.02,
        lambda_tv=0.005,
        mode=mode,
        dtype="float64",
        max_iter=80,
        tol=1e-9,
        cg_iter=15,
        cg_tol=1e-12,
    )
    x, _ = m.solve(lr, 2)
    xt = torch.from_numpy(x.astype(np.float64))
    op = GaussianAcquisition(2).operator(12, 12, torch.float64)
    t = torch.from_numpy(lr.astype(np.float64))
    best = lrtv_objective(xt, t, op, 0.02, 0.005, mode)
    rng = np.random.default_rng(0)
    for _ in range(20):  # convex objective: no nearby point may be clearly lower
        d = torch.from_numpy(rng.standard_normal(xt.shape)) * 1e-3
        assert lrtv_objective(xt + d, t, op, 0.02, 0.005, mode) > best - 1e-4 * best


def test_convergence_criterion_and_cap(small_stack: np.ndarray, make_lr: Degrade) -> None:
    lr = make_lr(small_stack, 2)
    loose = LRTV(tol=5e-2, max_iter=50)
    loose.upscale_stack(lr, 2)
    assert loose.last_result is not None and loose.last_result.converged
    assert loose.last_result.iterations < 50
    capped = LRTV(tol=1e-12, max_iter=3)
    capped.upscale_stack(lr, 2)
    assert capped.last_result is not None
    assert capped.last_result.iterations == 3 and not capped.last_result.converged


@pytest.mark.parametrize("mode", ["3d", "2d"])
@pytest.mark.parametrize("scale", [2, 3])
def test_lrtv_beats_bicubic_on_synthetic(
    mode: str, scale: int, make_phantom: Phantom, make_lr: Degrade
) -> None:
    hr = make_phantom(6, 24, seed=2)
    lr = make_lr(hr, scale)
    sr = get_method("lrtv", mode=mode).upscale_stack(lr, scale)
    bic = get_method("bicubic").upscale_stack(lr, scale)
    assert sr.shape == hr.shape and sr.dtype == np.float32
    assert sr.min() >= 0.0 and sr.max() <= 1.0
    assert _psnr(hr, sr) > _psnr(hr, bic) + 0.5


def test_single_slice_and_zero_lambdas(make_phantom: Phantom, make_lr: Degrade) -> None:
    hr = make_phantom(1, 16, seed=4)
    lr = make_lr(hr, 2)
    assert get_method("lrtv").upscale_stack(lr, 2).shape == (1, 16, 16)
    # without regularisers ADMM is a least-squares deblurring that fits the LR data
    x, _ = LRTV(
        lambda_rank=0, lambda_tv=0, dtype="float64", max_iter=40, cg_iter=40, tol=1e-12
    ).solve(lr, 2)
    fit = make_lr(x, 2)
    assert np.abs(fit - lr).max() < 1e-3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lambda_rank": -1},
        {"rho": 0},
        {"mode": "4d"},
        {"max_iter": 0},
        {"tol": 0},
        {"sigma": -1.0},
        {"dtype": "float16"},
    ],
)
def test_lrtv_rejects_bad_params(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LRTV(**kwargs)  # type: ignore[arg-type]
