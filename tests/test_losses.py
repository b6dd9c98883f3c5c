"""DNSPLoss (paper Eqs. 1, 5, 10) for every variant."""

import pytest
import torch

from dnsp.losses import PAPER_DEFAULTS, VARIANTS, DNSPLoss
from dnsp.priors import filter_variance, laplacian_variance, sharpness_measure, smoothed_rank


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    pred = torch.rand(4, 1, 16, 16, generator=gen, dtype=torch.float64)
    target = torch.rand(4, 1, 16, 16, generator=gen, dtype=torch.float64)
    sharp = torch.rand(3, 1, 16, 16, generator=gen, dtype=torch.float64)
    smooth = 0.1 * torch.rand(3, 1, 16, 16, generator=gen, dtype=torch.float64)
    return pred, target, sharp, smooth


def test_paper_defaults() -> None:
    crit = DNSPLoss()
    assert crit.variant == "AP"
    assert (crit.alpha, crit.beta, crit.gamma, crit.delta) == tuple(PAPER_DEFAULTS.values())


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_matches_its_equation(variant: str, batch) -> None:
    pred, target, sharp, smooth = batch
    a, b, g, tvw = 0.3, 0.2, 0.01, 0.05
    crit = DNSPLoss(variant, alpha=a, beta=b, gamma=g, delta=0.1, tv_weight=tvw,
                    sharp=sharp, smooth=smooth).double()
    loss = crit(pred, target)
    expected = (0.5 * (pred - target).pow(2).sum(dim=(1, 2, 3))).mean()
    if variant in ("LR", "AP", "TVLR"):
        expected = expected + a * smoothed_rank(pred, 0.1).mean()
    if variant == "FS":
        expected = expected - b * laplacian_variance(pred).mean()
    if variant in ("LS", "AP"):
        w = crit.filters
        expected = expected - b * filter_variance(pred, w).mean()
        expected = expected + g * sharpness_measure(w, sharp, smooth)
    if variant == "TVLR":
        from dnsp.priors import total_variation

        expected = expected + tvw * total_variation(pred).mean()
    torch.testing.assert_close(loss, expected)
    assert set(crit.terms) >= {"recon", "total"}
    assert all(not t.requires_grad for t in crit.terms.values())
    has_filters = variant in ("LS", "AP")
    assert (crit.filters is not None) == has_filters
    assert len(list(crit.parameters())) == int(has_filters)


def test_mean_reduction(batch) -> None:
    pred, target, _, _ = batch
    crit = DNSPLoss("NP", reduction="mean")
    torch.testing.assert_close(crit(pred, target), torch.nn.functional.mse_loss(pred, target))


def test_batch_independence(batch) -> None:
    pred, target, _, _ = batch
    crit = DNSPLoss("AP", alpha=0.1, beta=0.1, gamma=0.0, delta=0.1).double()
    whole = crit(pred, target)
    parts = torch.stack([crit(pred[i : i + 1], target[i : i + 1]) for i in range(4)]).mean()
    torch.testing.assert_close(whole, parts)


def test_finite_gradients_on_black_background() -> None:
    pred = torch.zeros(2, 1, 24, 24)
    pred[:, :, 8:14, 9:15] = 0.5  # repeated and zero singular values
    pred.requires_grad_(True)
    sharp, smooth = torch.rand(2, 1, 24, 24), torch.zeros(2, 1, 24, 24)
    crit = DNSPLoss("AP", sharp=sharp, smooth=smooth)
    crit(pred, torch.rand(2, 1, 24, 24)).backward()
    assert torch.isfinite(pred.grad).all() and torch.isfinite(crit.filters.grad).all()


def test_filters_learn_and_autocast_keeps_float32(batch) -> None:
    pred, target, sharp, smooth = (t.float() for t in batch)
    crit = DNSPLoss("LS", beta=1.0, gamma=1e-3, sharp=sharp, smooth=smooth)
    before = crit.filters.detach().clone()
    opt = torch.optim.Adam(crit.parameters(), lr=1e-2)
    crit(pred, target).backward()
    opt.step()
    assert not torch.equal(before, crit.filters.detach())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = crit(pred.to(torch.bfloat16), target)
    assert out.dtype == torch.float32 and torch.isfinite(out)


def test_bad_arguments(batch) -> None:
    pred, target, _, _ = batch
    with pytest.raises(ValueError, match="valid variants: NP, LR, FS, LS, AP, TVLR"):
        DNSPLoss("XX")
    with pytest.raises(ValueError, match="reduction"):
        DNSPLoss("NP", reduction="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        DNSPLoss("LR", alpha=-1.0)
    with pytest.raises(ValueError, match="delta"):
        DNSPLoss("LR", delta=0.0)
    with pytest.raises(ValueError, match="differ"):
        DNSPLoss("NP")(pred, target[:, :, :8])
    with pytest.raises(ValueError, match="sharp and smooth"):
        DNSPLoss("AP").double()(pred, target)
    assert DNSPLoss("ls").variant == "LS"


def test_critical_beta_golden_values() -> None:
    n = 38 * 38 - 1
    assert DNSPLoss("FS", reduction="mean").critical_beta(40, 40) == pytest.approx(n / 1600 / 64)
    assert DNSPLoss("FS", reduction="sum").critical_beta(40, 40) == pytest.approx(0.5 * n / 64)
    assert DNSPLoss("NP").critical_beta(40, 40) is None
    assert DNSPLoss("LR").critical_beta(40, 40) is None
    with pytest.raises(ValueError, match="at least 3 x 3"):
        DNSPLoss("FS").critical_beta(2, 40)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_is_unbounded_above_the_critical_beta(reduction: str) -> None:
    """Amplifying a checkerboard lowers the loss without limit once beta is too large."""
    h = w = 12
    target = torch.full((1, 1, h, w), 0.5, dtype=torch.float64)
    i, j = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    checker = ((-1.0) ** (i + j)).to(torch.float64).view(1, 1, h, w)

    def loss_at(beta: float, amplitude: float) -> float:
        crit = DNSPLoss("FS", beta=beta, reduction=reduction)
        return float(crit(target + amplitude * checker, target))

    safe = DNSPLoss("FS", reduction=reduction).critical_beta(h, w)
    assert safe is not None
    losses = [loss_at(safe, a) for a in (0.0, 1.0, 10.0, 100.0)]
    assert losses == sorted(losses)  # bounded: bigger perturbations cost more
    m = (h - 2) * (w - 2)  # the checkerboard attains V = 64 A^2 m / (m - 1)
    c = 0.5 * h * w if reduction == "sum" else 1.0
    unstable = 1.05 * c * (m - 1) / (64 * m)
    losses = [loss_at(unstable, a) for a in (0.0, 1.0, 10.0, 100.0)]
    assert losses == sorted(losses, reverse=True) and losses[-1] < -100
