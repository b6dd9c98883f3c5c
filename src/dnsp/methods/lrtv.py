"""LRTV: super-resolution with low-rank and total-variation regularisation (Shi et al., 2015).

Solves (SPEC section 5)

    min_X  1/2 ||D B X - T||_2^2 + lambda_rank * sum_i a_i ||X_(i)||_* + lambda_tv * TV(X)

with T the LR stack, D B the degradation of SPEC section 4 (the operator of
:class:`dnsp.acquisition.GaussianAcquisition`), X_(i) the
mode-i unfoldings of the 3-D stack (``mode="3d"``, a_i = 1/3 each, as Shi et al.'s tensor trace
norm) or the single slice matrix (``mode="2d"``, a = 1, one nuclear norm per slice), and TV the
isotropic total variation (3-D gradient over slice, row and column for ``"3d"``, in-plane for
``"2d"``; forward differences, Neumann borders).

ADMM (scaled form) with the splittings M_i = X (one copy per unfolding) and Z = grad X:

* X-step: (A^T A + K rho I + mu grad^T grad) X = A^T T + rho sum_i (M_i - U_i)
  + mu grad^T (Z - V), solved by conjugate gradient warm-started at the previous X;
* M-step: M_i = fold_i(SVT_{lambda_rank a_i / rho}(unfold_i(X + U_i))) (singular-value
  thresholding, :func:`.svt.svt`);
* Z-step: Z = shrink_{lambda_tv / mu}(grad X + V) (isotropic soft threshold per voxel);
* dual updates U_i += X - M_i, V += grad X - Z.

Stops when the relative change of X and the relative primal residual both fall below ``tol``,
or after ``max_iter`` iterations. Initialised with the Keys bicubic upscaling of T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from dnsp.acquisition import GaussianAcquisition, SeparableOperator
from dnsp.methods.base import check_lr_stack, register_method
from dnsp.methods.bicubic import bicubic_stack
from dnsp.methods.svt import fold, svt, unfold
from dnsp.ops.resize import apply_along_axis

__all__ = ["LRTV", "LRTVResult", "grad", "grad_adjoint", "lrtv_objective"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def grad(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """Forward differences of ``x`` along ``axes``, zero at the last sample (Neumann).

    Returns:
        Tensor (len(axes), *x.shape).
    """
    out = torch.zeros((len(axes), *x.shape), dtype=x.dtype, device=x.device)
    for k, ax in enumerate(axes):
        n = x.shape[ax]
        if n > 1:
            out[k].narrow(ax, 0, n - 1).copy_(x.narrow(ax, 1, n - 1) - x.narrow(ax, 0, n - 1))
    return out


def grad_adjoint(p: Tensor, axes: tuple[int, ...]) -> Tensor:
    """Exact adjoint of :func:`grad` (minus the divergence), for p (len(axes), *shape)."""
    res = torch.zeros(p.shape[1:], dtype=p.dtype, device=p.device)
    for k, ax in enumerate(axes):
        n = p.shape[1 + ax]
        if n > 1:
            q = p[k].narrow(ax, 0, n - 1)
            res.narrow(ax, 0, n - 1).sub_(q)
            res.narrow(ax, 1, n - 1).add_(q)
    return res


def _tv(x: Tensor, axes: tuple[int, ...]) -> float:
    g = grad(x, axes)
    return float(torch.sqrt((g * g).sum(0)).sum())


def _nuclear(m: Tensor) -> float:
    a = m if m.shape[-2] <= m.shape[-1] else m.transpose(-2, -1)
    a64 = a.to(torch.float64)
    ev = torch.linalg.eigvalsh(a64 @ a64.transpose(-2, -1))
    return float(ev.clamp_min(0).sqrt().sum())


def _tv_axes(mode: str, n_slices: int) -> tuple[int, ...]:
    return (0, 1, 2) if mode == "3d" and n_slices > 1 else (1, 2)


def _rank_terms(mode: str, x: Tensor) -> list[tuple[int, float]]:
    """(unfolding mode, weight a_i); mode -1 means "each slice is one matrix"."""
    if mode == "2d":
        return [(-1, 1.0)]
    return [(0, 1.0 / 3.0), (1, 1.0 / 3.0), (2, 1.0 / 3.0)]


def _nuclear_term(x: Tensor, mode: str) -> float:
    total = 0.0
    for m, a in _rank_terms(mode, x):
        total += a * (_nuclear(x) if m == -1 else _nuclear(unfold(x, m)))
    return total


def lrtv_objective(
    x: Tensor, lr: Tensor, op: SeparableOperator, lambda_rank: float, lambda_tv: float,
    mode: str = "3d",
) -> float:
    """The LRTV objective 1/2 ||A X - T||^2 + lambda_rank sum a_i ||X_(i)||_* + lambda_tv TV(X).

    Args:
        x: HR stack (N, H, W).
        lr: LR stack T (N, H/s, W/s).
        op: The degradation A = D B.
        lambda_rank: Weight of the nuclear norms.
        lambda_tv: Weight of the isotropic TV.
        mode: ``"3d"`` (unfoldings of the stack) or ``"2d"`` (one matrix per slice).
    """
    r = op.forward(x) - lr
    val = 0.5 * float((r.to(torch.float64) ** 2).sum())
    if lambda_rank > 0:
        val += lambda_rank * _nuclear_term(x, mode)
    if lambda_tv > 0:
        val += lambda_tv * _tv(x, _tv_axes(mode, x.shape[0]))
    return val


@dataclass
class LRTVResult:
    """Diagnostics of one LRTV solve."""

    iterations: int
    converged: bool
    rel_change: float
    rel_primal: float
    objective: list[float] = field(default_factory=list)


@register_method("lrtv")
class LRTV:
    """LRTV super-resolution (Shi et al., IEEE TMI 2015) solved by ADMM with SVT.

    Defaults were chosen on the IXI training pool at x2 (grid and scores in docs/baselines.md).

    Args:
        lambda_rank: Weight of the weighted sum of nuclear norms (>= 0; 0 disables it).
        lambda_tv: Weight of the isotropic TV (>= 0; 0 disables it).
        rho: ADMM penalty of the low-rank splittings M_i = X (> 0).
        mu: ADMM penalty of the TV splitting Z = grad X (> 0).
        mode: ``"3d"``: the stack is one 3-D image (nuclear norms of its three unfoldings,
            a_i = 1/3, 3-D TV); ``"2d"``: every slice on its own (one nuclear norm per slice,
            in-plane TV).
        max_iter: ADMM iteration cap.
        tol: Convergence tolerance on the relative change of X and the relative primal
            residual.
        cg_iter: Conjugate-gradient iterations per X-step (cap).
        cg_tol: Relative residual at which CG stops early.
        sigma: Blur of the degradation model in HR voxels; ``None`` means s / 2 (SPEC sec. 4).
        dtype: ``"float32"`` (default, fast) or ``"float64"``.
        clip: Clip the result to [0, 1].
    """

    name = "lrtv"
    #: the low-rank and TV terms couple the slices: the whole stack goes in one call
    whole_stack = True

    def __init__(
        self, lambda_rank: float = 1e-3, lambda_tv: float = 1e-4, rho: float = 0.01,
        mu: float = 0.01, mode: str = "3d", max_iter: int = 100, tol: float = 1e-4,
        cg_iter: int = 10, cg_tol: float = 1e-5, sigma: float | None = None,
        dtype: str = "float32", clip: bool = True,
    ) -> None:
        if lambda_rank < 0 or lambda_tv < 0:
            raise ValueError(f"lambdas must be >= 0, got {lambda_rank}, {lambda_tv}")
        if rho <= 0 or mu <= 0:
            raise ValueError(f"rho and mu must be > 0, got {rho}, {mu}")
        if mode not in ("2d", "3d"):
            raise ValueError(f"mode must be '2d' or '3d', got {mode!r}")
        if max_iter < 1 or cg_iter < 1:
            raise ValueError(f"max_iter and cg_iter must be >= 1, got {max_iter}, {cg_iter}")
        if tol <= 0 or cg_tol <= 0:
            raise ValueError(f"tol and cg_tol must be > 0, got {tol}, {cg_tol}")
        if sigma is not None and sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        self.lambda_rank = float(lambda_rank)
        self.lambda_tv = float(lambda_tv)
        self.rho = float(rho)
        self.mu = float(mu)
        self.mode = mode
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.cg_iter = int(cg_iter)
        self.cg_tol = float(cg_tol)
        self.sigma = sigma
        self.dtype = dtype
        self.clip = bool(clip)
        self.last_result: LRTVResult | None = None

    def __repr__(self) -> str:
        return (f"LRTV(lambda_rank={self.lambda_rank}, lambda_tv={self.lambda_tv}, "
                f"rho={self.rho}, mu={self.mu}, mode={self.mode!r}, max_iter={self.max_iter})")

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale (N, h, w) -> (N, h*scale, w*scale) float32 (see :class:`SRMethod`)."""
        x, self.last_result = self.solve(lr, scale)
        return np.clip(x, 0.0, 1.0) if self.clip else x

    def solve(
        self, lr: np.ndarray, scale: int, record_objective: bool = False,
    ) -> tuple[np.ndarray, LRTVResult]:
        """Run the ADMM of the module docstring.

        Args:
            lr: LR stack (N, h, w).
            scale: Integer factor >= 2.
            record_objective: Evaluate the LRTV objective at X after every iteration (costs
                extra SVDs; for tests and diagnostics), the first entry being the bicubic
                initialisation.

        Returns:
            ``(x, result)``: the unclipped HR stack (N, h*s, w*s) float32 and diagnostics.
        """
        arr, s = check_lr_stack(lr, scale)
        dt = _DTYPES[self.dtype]
        t = torch.from_numpy(arr).to(dt)
        n, h, w = arr.shape
        op = GaussianAcquisition(s, self.sigma).operator(h * s, w * s, dtype=dt)
        assert op is not None  # the gaussian model is linear
        ah, aw, ph, pw = op.matrices()
        x = torch.from_numpy(bicubic_stack(arr, s)).to(dt)
        axes = _tv_axes(self.mode, n)
        rank_terms = _rank_terms(self.mode, x) if self.lambda_rank > 0 else []
        use_tv = self.lambda_tv > 0
        k_rank = len(rank_terms)
        rho, mu = self.rho, self.mu

        ms = [x.clone() for _ in rank_terms]
        us = [torch.zeros_like(x) for _ in rank_terms]
        z = grad(x, axes) if use_tv else None
        v = torch.zeros_like(z) if z is not None else None
        at_t = apply_along_axis(apply_along_axis(t, ah.T, -2), aw.T, -1)

        def normal_op(y: Tensor) -> Tensor:
            out = apply_along_axis(apply_along_axis(y, ph, -2), pw, -1)
            if k_rank:
                out = out + (k_rank * rho) * y
            if use_tv:
                out = out + mu * grad_adjoint(grad(y, axes), axes)
            return out

        history: list[float] = []
        if record_objective:
            history.append(lrtv_objective(x, t, op, self.lambda_rank, self.lambda_tv,
                                          self.mode))
        rel_change = rel_primal = math.inf
        converged = False
        it = 0
        for it in range(1, self.max_iter + 1):  # noqa: B007 (it is reported)
            rhs = at_t.clone()
            for m_i, u_i in zip(ms, us, strict=True):
                rhs += rho * (m_i - u_i)
            if use_tv:
                rhs += mu * grad_adjoint(z - v, axes)
            x_old = x
            x = _conjugate_gradient(normal_op, rhs, x, self.cg_iter, self.cg_tol)
            primal_sq = 0.0
            for i, (m_mode, a_i) in enumerate(rank_terms):
                tau = self.lambda_rank * a_i / rho
                y = x + us[i]
                if m_mode == -1:
                    ms[i] = svt(y, tau)
                else:
                    ms[i] = fold(svt(unfold(y, m_mode), tau), m_mode, tuple(y.shape))
                r = x - ms[i]
                us[i] += r
                primal_sq += float((r * r).sum())
            if use_tv:
                gx = grad(x, axes)
                y = gx + v
                mag = torch.sqrt((y * y).sum(0, keepdim=True))
                shrink = torch.clamp(1.0 - (self.lambda_tv / mu) / mag.clamp_min(1e-12), min=0.0)
                z = shrink * y
                r = gx - z
                v += r
                primal_sq += float((r * r).sum())
            xnorm = max(float(torch.linalg.vector_norm(x)), 1e-12)
            rel_change = float(torch.linalg.vector_norm(x - x_old)) / xnorm
            rel_primal = math.sqrt(primal_sq) / xnorm
            if record_objective:
                history.append(lrtv_objective(x, t, op, self.lambda_rank, self.lambda_tv,
                                              self.mode))
            if rel_change < self.tol and rel_primal < self.tol:
                converged = True
                break
        result = LRTVResult(iterations=it, converged=converged, rel_change=rel_change,
                            rel_primal=rel_primal, objective=history)
        return x.to(torch.float32).numpy(), result


def _conjugate_gradient(
    apply: object, b: Tensor, x0: Tensor, max_iter: int, tol: float,
) -> Tensor:
    """Conjugate gradient for the symmetric positive-definite ``apply`` (a callable)."""
    x = x0.clone()
    r = b - apply(x)  # type: ignore[operator]
    p = r.clone()
    rs = float((r * r).sum())
    b_norm = max(float(torch.linalg.vector_norm(b)), 1e-30)
    for _ in range(max_iter):
        if math.sqrt(rs) <= tol * b_norm:
            break
        ap = apply(p)  # type: ignore[operator]
        denom = float((p * ap).sum())
        if denom <= 0:
            break
        alpha = rs / denom
        x.add_(p, alpha=alpha)
        r.sub_(ap, alpha=alpha)
        rs_new = float((r * r).sum())
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x
