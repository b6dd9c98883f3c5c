"""Acquisition features, the family estimate, and the network input channels."""

import numpy as np
import pytest
import torch

from dnsp.acquisition import (
    NetworkInput,
    acquisition_features,
    estimate_acquisition,
    get_acquisition,
)
from dnsp.ops import bicubic_upscale
from dnsp.ops.kspace import zero_fill_upscale

from .conftest import textured_ellipse


def _phantom(n: int = 96, seed: int = 0) -> np.ndarray:
    """A head-like slice: an ellipse of textured tissue with sharp edges, on a black field."""
    return textured_ellipse(n, seed, (0.4, 0.45), 30, 0.3, (0.02, 0.08))


def test_features_golden_and_scale_free() -> None:
    img = _phantom()
    f = acquisition_features(img)
    assert f.shape == (3,) and f.dtype == np.float32
    np.testing.assert_allclose(acquisition_features(7.0 * img), f, rtol=1e-5)
    assert f[2] == pytest.approx(0.0)  # a noise-free black background
    assert np.array_equal(acquisition_features(np.zeros((8, 8))), np.zeros(3))
    with pytest.raises(ValueError, match="one slice"):
        acquisition_features(np.zeros((3, 8, 8)))


def test_sharp_band_limit_reads_sharper_than_blur() -> None:
    hr = torch.from_numpy(np.stack([_phantom(seed=k) for k in range(4)]))
    ks = get_acquisition("kspace", scale=2).simulate(hr).numpy()
    ga = get_acquisition("gaussian", scale=2).simulate(hr).numpy()
    f_ks = np.median([acquisition_features(s)[0] for s in ks])
    f_ga = np.median([acquisition_features(s)[0] for s in ga])
    assert f_ks > f_ga + 0.2
    assert estimate_acquisition(ks, 2).acquisition.name == "kspace"
    assert estimate_acquisition(ga, 2).acquisition.name == "gaussian"


def test_noise_level_is_measured_on_the_background() -> None:
    hr = torch.from_numpy(np.stack([_phantom(seed=k) for k in range(4)]))
    acq = get_acquisition("gaussian", scale=2, noise=0.03)
    lr = acq.simulate(hr, torch.Generator().manual_seed(0)).numpy()
    est = estimate_acquisition(lr, 2)
    assert est.noise == pytest.approx(0.03, rel=0.25)
    assert est.noise_source == "background" and "noise ~3." in est.describe()
    with pytest.raises(ValueError, match="lr must be"):
        estimate_acquisition(np.zeros((1, 2, 8, 8)), 2)


def test_network_input_channels() -> None:
    lr = torch.rand(3, 10, 12, generator=torch.Generator().manual_seed(0))
    one = NetworkInput(2)
    assert one.n_channels == 1
    torch.testing.assert_close(one(lr)[:, 0], bicubic_upscale(lr, 2))
    full = NetworkInput(2, ("bicubic", "zerofill", "features"))
    x = full(lr)
    assert full.n_channels == 5 and x.shape == (3, 5, 20, 24)
    torch.testing.assert_close(x[:, 1], zero_fill_upscale(lr, 2))
    feats = np.stack([acquisition_features(s) for s in lr.numpy()])
    torch.testing.assert_close(x[:, 2:, 7, 3], torch.from_numpy(feats))
    assert full(lr[0]).shape == (5, 20, 24)
    assert NetworkInput(1, ("bicubic",))(lr).shape == (3, 1, 10, 12)
    assert NetworkInput.from_config(full.to_config(), 2) == full
    assert NetworkInput.from_config(None, 3) == NetworkInput(3)
    some = NetworkInput(2, ("zerofill", "bicubic", "spectral", "background"))
    y = some(lr)
    assert some.n_channels == 4 and y.shape == (3, 4, 20, 24)
    torch.testing.assert_close(y[:, 2:, 0, 0], torch.from_numpy(feats[:, [0, 2]]))


@pytest.mark.parametrize("channels", [(), ("features",), ("bicubic", "bicubic"), ("nearest",)])
def test_network_input_bad_channels(channels: tuple) -> None:
    with pytest.raises(ValueError, match="channel"):
        NetworkInput(2, channels)
