"""The DNSP training loss, paper Eqs. 1, 5 and 10, for every variant of Tables I and V.

Per image b of a batch (Y = network output, Y_g = ground truth):

    E_b = rec(Y_b, Y_g,b) + alpha R_delta(Y_b) - beta V(Y_b) [+ tv_weight TV(Y_b)]

and the loss is mean_b E_b + gamma S(Theta_L). ``rec`` is 1/2 ||Y_g - Y||_F^2 (Eq. 1,
``reduction="sum"``) or the mean squared error over pixels (``reduction="mean"``). V is the
Laplacian variance (FS) or the mean variance of the learnable filters' responses (LS, AP).
Averaging over the batch keeps each image's contribution independent of the batch size.

| variant | rank (alpha) | sharpness (beta) | filters learned, S (gamma) | TV |
|---|---|---|---|---|
| NP   |   |            |   |   |
| LR   | x |            |   |   |
| FS   |   | fixed L    |   |   |
| LS   |   | learnable  | x |   |
| AP   | x | learnable  | x |   |
| TVLR | x |            |   | x |

The relative weight of data term and priors depends on ``reduction`` and on the intensity
range (SPEC sec. 2): with the paper's alpha/beta/gamma and the per-image sum, the prior
gradients are orders of magnitude below the data term. ``dnsp tune`` chooses them on data.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from dnsp.ops.laplacian import as_image_batch, laplacian_kernel
from dnsp.priors import (
    SharpnessFilters,
    filter_variance,
    laplacian_variance,
    max_filter_gain,
    sharpness_gram,
    sharpness_measure_from_gram,
    smoothed_rank,
    total_variation,
)

__all__ = ["PAPER_DEFAULTS", "REDUCTIONS", "VARIANTS", "DNSPLoss", "variant_weights"]

Variant = Literal["NP", "LR", "FS", "LS", "AP", "TVLR"]
Reduction = Literal["sum", "mean"]

VARIANTS: tuple[str, ...] = ("NP", "LR", "FS", "LS", "AP", "TVLR")
REDUCTIONS: tuple[str, ...] = ("sum", "mean")
#: The values stated in the paper (Sec. IV-A).
PAPER_DEFAULTS: dict[str, float] = {"alpha": 1e-5, "beta": 5e-3, "gamma": 1e-7, "delta": 0.01}

_USES_RANK = {"LR", "AP", "TVLR"}
_USES_FIXED = {"FS"}
_USES_LEARNED = {"LS", "AP"}
_USES_TV = {"TVLR"}


def variant_weights(variant: str) -> tuple[str, ...]:
    """The weights that act on the network's output in ``variant`` (table above).

    Examples:
        ``variant_weights("AP") == ("alpha", "beta")``; NP: ``()``; TVLR:
        ``("alpha", "tv_weight")``. gamma shapes only the learnable filters.
    """
    name = str(variant).upper()
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; valid variants: {', '.join(VARIANTS)}")
    return tuple(w for w, on in (("alpha", name in _USES_RANK),
                                 ("beta", name in _USES_FIXED | _USES_LEARNED),
                                 ("tv_weight", name in _USES_TV)) if on)


def _nonneg(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


class DNSPLoss(nn.Module):
    """Reconstruction loss plus the DNSP priors (paper Eq. 10).

    Args:
        variant: One of NP, LR, FS, LS, AP (Table I) or TVLR (Table V); case-insensitive.
        alpha: Weight of the smoothed-rank prior R_delta.
        beta: Weight of the sharpness prior V or V_mod (subtracted: sharper is better).
        gamma: Weight of the sharpness-enhancing measure S on the filters.
        delta: Width of the smoothed rank (paper: 0.01 for [0, 1] intensities).
        tv_weight: Weight of the total-variation term (TVLR only).
        reduction: "sum" (1/2 squared Frobenius norm per image, Eq. 1) or "mean" (MSE).
        n_filters: Number N_L of learnable filters (LS, AP).
        filter_norm: "none" (paper) or "unit" (see :class:`dnsp.priors.SharpnessFilters`).
        sharp: Sharp patches (N_T, 1, P, P); required for LS/AP when gamma > 0.
        smooth: Smooth patches (N_T, 1, P, P); required for LS/AP when gamma > 0.
        seed: Seed of the filters' initial perturbation.

    Attributes:
        terms: After each forward, the unweighted batch-mean value of every active term
            ("recon", "rank", "sharpness", "measure", "tv") and the "total", detached.
    """

    def __init__(
        self,
        variant: Variant | str = "AP",
        *,
        alpha: float = PAPER_DEFAULTS["alpha"],
        beta: float = PAPER_DEFAULTS["beta"],
        gamma: float = PAPER_DEFAULTS["gamma"],
        delta: float = PAPER_DEFAULTS["delta"],
        tv_weight: float = 1e-4,
        reduction: Reduction = "sum",
        n_filters: int = 8,
        filter_norm: Literal["none", "unit"] = "none",
        sharp: Tensor | None = None,
        smooth: Tensor | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        name = str(variant).upper()
        if name not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; valid variants: {', '.join(VARIANTS)}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if not delta > 0:
            raise ValueError(f"delta must be > 0, got {delta!r}")
        self.variant: str = name
        self.alpha = _nonneg("alpha", alpha)
        self.beta = _nonneg("beta", beta)
        self.gamma = _nonneg("gamma", gamma)
        self.tv_weight = _nonneg("tv_weight", tv_weight)
        self.delta = float(delta)
        self.reduction: str = reduction
        self.sharpness_filters: SharpnessFilters | None = None
        if name in _USES_LEARNED:
            self.sharpness_filters = SharpnessFilters(n_filters, norm=filter_norm, seed=seed)
        self.register_buffer("sharp", None, persistent=False)
        self.register_buffer("smooth", None, persistent=False)
        self.register_buffer("sharpness_gram", None, persistent=False)
        if sharp is not None or smooth is not None:
            self.set_patches(sharp, smooth)
        self.terms: dict[str, Tensor] = {}

    @property
    def filters(self) -> nn.Parameter | None:
        """The learnable filter parameter (N_L, 1, 3, 3) for LS/AP, else None."""
        return None if self.sharpness_filters is None else self.sharpness_filters.weight

    @property
    def needs_patches(self) -> bool:
        """Whether forward needs sharp/smooth patches (LS/AP with gamma > 0)."""
        return self.variant in _USES_LEARNED and self.gamma > 0

    def set_patches(self, sharp: Tensor | None, smooth: Tensor | None) -> None:
        """Set the sharp and smooth training patches used by S (paper Sec. III)."""
        if sharp is None or smooth is None:
            raise ValueError("sharp and smooth patches must be given together")
        sharp = as_image_batch(sharp, "sharp").detach()
        smooth = as_image_batch(smooth, "smooth").detach()
        self.sharp, self.smooth = sharp, smooth
        # S is a quadratic form in the filters: its 9x9 matrix is computed once here, so the
        # per-step cost does not grow with the number of patches (sharpness_gram).
        self.sharpness_gram = sharpness_gram(sharp, smooth)

    def critical_beta(self, height: int, width: int) -> float | None:
        """The largest beta for which the loss is bounded below on ``height x width`` images.

        Along a perturbation D of the output, the data term grows as c ||D||^2 (c = 1/2 for
        ``sum``, 1 / (H W) for ``mean``) and beta V or beta V_mod at most as beta g ||D||^2 / n,
        with g = :func:`dnsp.priors.max_filter_gain` of the Laplacian or of the current
        filters and n = (H - 2)(W - 2) - 1 (the unbiased variance over valid pixels), so the
        loss is bounded below for beta <= c n / g. A little above it (by at most the share of
        border pixels), a perturbation at the frequency where the filters respond most lowers
        the loss without limit, and training collapses. On 40 x 40 patches the paper's
        per-image sum gives about 11; the mean reduction about 0.014.

        Returns:
            The critical beta, or None for variants without a sharpness term.
        """
        if height < 3 or width < 3:
            raise ValueError(f"images must be at least 3 x 3, got {height} x {width}")
        if self.variant in _USES_FIXED:
            gain = max_filter_gain(laplacian_kernel())
        elif self.sharpness_filters is not None:
            gain = max_filter_gain(self.sharpness_filters())
        else:
            return None
        n_valid = (height - 2) * (width - 2) - 1
        c = 0.5 if self.reduction == "sum" else 1.0 / (height * width)
        return float(c * n_valid / gain)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Return the scalar loss for network output ``pred`` and ground truth ``target``.

        Args:
            pred: Network output Y, (B, 1, H, W) or (B, H, W).
            target: Ground truth Y_g of the same shape.
        """
        pred = as_image_batch(pred, "pred")
        target = as_image_batch(target, "target")
        if pred.shape != target.shape:
            raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
        # Priors and the data term in full precision, whatever the autocast context.
        with torch.autocast(device_type=pred.device.type, enabled=False):
            y = pred if pred.dtype in (torch.float32, torch.float64) else pred.float()
            diff = (y - target.to(y.dtype)).flatten(1)
            if self.reduction == "sum":
                recon = 0.5 * diff.pow(2).sum(dim=1)
            else:
                recon = diff.pow(2).mean(dim=1)
            per_image = recon
            terms: dict[str, Tensor] = {"recon": recon.mean()}
            if self.variant in _USES_RANK:
                rank = smoothed_rank(y, self.delta).to(y.dtype)
                per_image = per_image + self.alpha * rank
                terms["rank"] = rank.mean()
            if self.variant in _USES_FIXED:
                sharp_v = laplacian_variance(y)
                per_image = per_image - self.beta * sharp_v
                terms["sharpness"] = sharp_v.mean()
            if self.variant in _USES_TV:
                tv = total_variation(y)
                per_image = per_image + self.tv_weight * tv
                terms["tv"] = tv.mean()
            total = per_image.mean()
            if self.sharpness_filters is not None:
                w = self.sharpness_filters().to(y.dtype)
                sharp_v = filter_variance(y, w)
                total = total - self.beta * sharp_v.mean()
                terms["sharpness"] = sharp_v.mean()
                if self.gamma > 0:
                    if self.sharpness_gram is None:
                        raise ValueError(
                            f"variant {self.variant} with gamma > 0 needs sharp and smooth "
                            "patches: pass sharp=/smooth= or call set_patches()"
                        )
                    measure = sharpness_measure_from_gram(w, self.sharpness_gram)
                    total = total + self.gamma * measure
                    terms["measure"] = measure
        terms["total"] = total
        self.terms = {k: v.detach() for k, v in terms.items()}
        return total

    def extra_repr(self) -> str:
        return (
            f"variant={self.variant!r}, alpha={self.alpha:g}, beta={self.beta:g}, "
            f"gamma={self.gamma:g}, delta={self.delta:g}, reduction={self.reduction!r}"
        )
