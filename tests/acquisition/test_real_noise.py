"""Real scans' noise in the acquisition models: spatially correlated, tissue only."""

from __future__ import annotations

import pytest
import torch

from dnsp.acquisition import acquisition_from_config, get_acquisition
from dnsp.ops.noise import rician_noise


def test_correlated_noise_keeps_its_level_and_is_correlated() -> None:
    flat = torch.full((256, 256), 0.5, dtype=torch.float64)
    white = rician_noise(flat, 0.01, torch.Generator().manual_seed(0)) - 0.5
    corr = rician_noise(flat, 0.01, torch.Generator().manual_seed(0), correlation=1.0) - 0.5
    for n in (white, corr):
        assert float(n.std()) == pytest.approx(0.01, rel=0.05)
    lag = lambda n: float((n[:, 1:] * n[:, :-1]).mean() / n.var())  # noqa: E731
    assert abs(lag(white)) < 0.05
    # a Gaussian of sigma 1 pixel: neighbours correlate by exp(-1 / 4) = 0.78
    assert lag(corr) == pytest.approx(0.78, abs=0.03)
    with pytest.raises(ValueError, match="correlation"):
        rician_noise(flat, 0.01, correlation=-1.0)


def test_clean_background_leaves_noise_in_the_tissue_only() -> None:
    hr = torch.zeros(64, 64, dtype=torch.float64)
    hr[16:48, 16:48] = 1.0
    acq = get_acquisition("kspace", scale=2, noise=0.02, noise_corr=0.5, clean_background=True)
    lr = acq.simulate(hr, torch.Generator().manual_seed(1))
    assert float(lr[:4, :4].abs().max()) == 0.0  # background exactly 0
    assert float(lr[12:20, 12:20].std()) > 0.01  # the tissue keeps its noise
    noisy = get_acquisition("kspace", scale=2, noise=0.02).simulate(
        hr, torch.Generator().manual_seed(1))
    assert float(noisy[:4, :4].abs().max()) > 0  # the default: noise everywhere


def test_real_noise_options_round_trip_and_describe() -> None:
    acq = get_acquisition("gaussian", scale=2, noise=0.01, noise_corr=1.0, clean_background=True)
    assert acquisition_from_config(acq.to_config()) == acq
    assert "correlated over 1 px, clean background" in acq.describe()
    assert "noise_corr" not in get_acquisition("gaussian", scale=2).to_config()
    with pytest.raises(ValueError, match="noise_corr"):
        get_acquisition("kspace", scale=2, noise_corr=-1.0)
    mix = acquisition_from_config({"name": "mixture", "scale": 2, "components": [
        {"name": "kspace", "noise": [0.005, 0.02], "noise_corr": [0.5, 1.5],
         "clean_background": True}]})
    drawn = mix.draw(__import__("numpy").random.default_rng(0))
    assert 0.5 <= drawn.noise_corr <= 1.5 and drawn.clean_background
