"""The acquisition registry and models: equivalence with the paper's degrade, operators,
geometry, mixture seeding, configs, bad arguments."""

import numpy as np
import pytest
import torch

from dnsp.acquisition import (
    Acquisition,
    acquisition_from_config,
    available_acquisitions,
    get_acquisition,
)
from dnsp.ops import degrade, upscale_affine
from dnsp.ops.resize import bicubic_upscale


@pytest.fixture
def hr() -> torch.Tensor:
    return torch.rand(3, 24, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_registry_lists_and_rejects() -> None:
    assert {"gaussian", "identity", "kspace", "lowfield", "mixture"} <= set(
        available_acquisitions())
    with pytest.raises(ValueError, match="valid models: gaussian"):
        get_acquisition("sinc")
    with pytest.raises(ValueError, match="kspace"):
        get_acquisition("kspace", scale=2, blur=3)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_gaussian_is_the_papers_degrade(hr: torch.Tensor, s: int) -> None:
    acq = get_acquisition("gaussian", scale=s)
    assert torch.equal(acq.simulate(hr), degrade(hr, s))
    assert torch.equal(acq.network_input(acq.simulate(hr)), bicubic_upscale(degrade(hr, s), s))


@pytest.mark.parametrize("cfg", [{"name": "gaussian", "scale": 2},
                                 {"name": "gaussian", "scale": 3, "sigma": 1.0},
                                 {"name": "kspace", "scale": 2},
                                 {"name": "kspace", "scale": 2, "window": "tukey",
                                  "window_param": 0.3}])
def test_operator_matches_simulate_and_adjoint(hr: torch.Tensor, cfg: dict) -> None:
    acq = acquisition_from_config(cfg)
    s = acq.scale
    x = hr[..., : 24 // s * s, : 30 // s * s]
    op = acq.operator(x.shape[-2], x.shape[-1], torch.float64)
    assert op is not None
    torch.testing.assert_close(op.forward(x), acq.simulate(x), atol=1e-12, rtol=1e-7)
    y = torch.rand_like(op.forward(x))
    lhs = (op.forward(x) * y).sum()
    rhs = (x * op.adjoint(y)).sum()
    torch.testing.assert_close(lhs, rhs)


def test_kspace_noise_level_and_seed(hr: torch.Tensor) -> None:
    clean = get_acquisition("kspace", scale=2).simulate(torch.full((64, 64), 0.8))
    acq = get_acquisition("kspace", scale=2, noise=0.05)
    noisy = acq.simulate(torch.full((64, 64), 0.8), torch.Generator().manual_seed(1))
    assert (noisy - clean).std().item() == pytest.approx(0.05 * 0.8, rel=0.15)
    again = acq.simulate(torch.full((64, 64), 0.8), torch.Generator().manual_seed(1))
    assert torch.equal(noisy, again)


@pytest.mark.parametrize("name", ["gaussian", "kspace"])
def test_world_geometry_is_the_same_for_every_model(name: str) -> None:
    aff = np.diag([0.9, 1.1, 2.0, 1.0])
    aff[:3, 3] = [-80.0, -100.0, 12.0]
    acq = get_acquisition(name, scale=3)
    lr_aff = acq.lr_affine(aff, (0, 1))
    np.testing.assert_allclose(lr_aff[:3, 3], aff[:3, 3] + np.array([0.9, 1.1, 0]))
    np.testing.assert_allclose(acq.hr_affine(lr_aff, (0, 1)), aff)
    np.testing.assert_allclose(acq.hr_affine(aff, (0, 1)), upscale_affine(aff, 3, (0, 1)))


def test_identity_and_zerofill_input(hr: torch.Tensor) -> None:
    ident = get_acquisition("identity")
    assert ident.scale == 1 and torch.equal(ident.network_input(hr), hr)
    assert torch.equal(ident.simulate(hr), hr)
    with pytest.raises(ValueError, match="scale 1"):
        get_acquisition("identity", scale=2)
    zf = get_acquisition("kspace", scale=2, input="zerofill")
    lr = zf.simulate(hr)
    assert zf.network_input(lr).shape == (3, 24, 30)


def test_mixture_is_seeded_and_mixes(hr: torch.Tensor) -> None:
    mix = get_acquisition("mixture", scale=2, components=[
        {"name": "gaussian", "sigma": [0.6, 1.4]},
        {"name": "kspace", "window": "hamming", "noise": [0.0, 0.03]}])
    stack = hr.repeat(4, 1, 1).float()
    a = mix.simulate(stack, torch.Generator().manual_seed(5))
    b = mix.simulate(stack, torch.Generator().manual_seed(5))
    c = mix.simulate(stack, torch.Generator().manual_seed(6))
    assert a.shape == (12, 12, 15) and torch.equal(a, b) and not torch.equal(a, c)
    gauss = degrade(stack, 2)
    differs = [(a[i] - gauss[i]).abs().max().item() > 1e-6 for i in range(12)]
    assert any(differs)
    assert acquisition_from_config(mix.to_config()) == mix


@pytest.mark.parametrize("bad", [
    {"components": []},
    {"components": [{"name": "mixture"}]},
    {"components": [{"name": "gaussian", "sigma": [2.0, 1.0]}]},
    {"components": [{"name": "gaussian"}], "weights": [-1.0]},
    {"components": [{"name": "kspace", "window": "gauss"}]},
])
def test_mixture_bad_arguments(bad: dict) -> None:
    with pytest.raises(ValueError):
        get_acquisition("mixture", scale=2, **bad)


@pytest.mark.parametrize(("name", "params", "match"), [
    ("gaussian", {"scale": 1}, ">= 2"),
    ("gaussian", {"scale": 2, "sigma": -1.0}, "sigma"),
    ("gaussian", {"scale": 2, "noise": -0.1}, "noise"),
    ("kspace", {"scale": 2, "window": "box"}, "valid windows"),
    ("kspace", {"scale": 2, "window": "fermi", "window_param": 2.0}, "fermi"),
    ("kspace", {"scale": 2.5}, "integer"),
    ("kspace", {"scale": 2, "input": "nearest"}, "input"),
    ("lowfield", {"b_high": 1.5, "b_low": 3.0}, "lower"),
])
def test_bad_parameters(name: str, params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_acquisition(name, **params)


def test_configs_round_trip_and_defaults() -> None:
    for cfg in ({"name": "gaussian", "scale": 2}, {"name": "kspace", "scale": 4,
                "window": "hamming", "noise": 0.01}, {"name": "identity"},
                {"name": "lowfield", "b_high": 3.0, "b_low": 1.0, "relaxation_factor": 1.0,
                 "seed": 2}):
        acq = acquisition_from_config(cfg)
        assert isinstance(acq, Acquisition)
        assert acquisition_from_config(acq.to_config()) == acq
    assert acquisition_from_config(None, scale=3) == get_acquisition("gaussian", scale=3)
    assert acquisition_from_config("kspace", scale=2).scale == 2
    with pytest.raises(ValueError, match="differs"):
        acquisition_from_config({"name": "kspace", "scale": 2}, scale=4)


def test_lowfield_lowers_the_snr() -> None:
    rng = np.random.default_rng(0)
    vol = np.zeros((40, 40, 8))
    vol[10:30, 10:30] = 1.0
    vol = np.abs(vol + rng.normal(0, 0.02, vol.shape) + 1j * rng.normal(0, 0.02, vol.shape))
    acq = get_acquisition("lowfield", b_high=3.0, b_low=1.5)
    out = acq.simulate(torch.from_numpy(vol))
    assert out.shape == vol.shape
    assert out[10:30, 10:30].std() > 1.5 * vol[10:30, 10:30].std()


@pytest.mark.parametrize("name", ["kspace", "gaussian"])
def test_projection_is_consistent_with_the_data(hr: torch.Tensor, name: str) -> None:
    acq = get_acquisition(name, scale=2)
    x = hr[..., :24, :30]
    lr = torch.rand(3, 12, 15, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    p = acq.project(x, lr)
    torch.testing.assert_close(acq.simulate(p), lr, atol=1e-6, rtol=0)
    torch.testing.assert_close(acq.project(p, lr), p, atol=1e-6, rtol=0)  # idempotent
    with pytest.raises(ValueError, match="not a linear"):
        get_acquisition("mixture", scale=2, components=[{"name": "kspace"}]).project(x, lr)
