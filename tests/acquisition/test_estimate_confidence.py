"""The estimator says how sure it is, and measures noise apart from ringing and offsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnsp.acquisition import AcquisitionEstimate, estimate_acquisition, get_acquisition
from dnsp.acquisition.estimate import noise_level

from .conftest import textured_ellipse


def _head(n: int = 96, seed: int = 0) -> np.ndarray:
    """A small head (textured ellipse) in a large empty field: room for a far background."""
    return textured_ellipse(n, seed, (0.25, 0.3), 20, 0.2, (0.02, 0.05))


def _lr(name: str, noise: float, **kw: object) -> np.ndarray:
    hr = torch.from_numpy(np.stack([_head(seed=k) for k in range(4)]))
    acq = get_acquisition(name, scale=2, noise=noise, **kw)
    return acq.simulate(hr, torch.Generator().manual_seed(0)).numpy()


@pytest.mark.parametrize("level", [0.01, 0.03])
def test_noise_is_measured_on_the_far_background(level: float) -> None:
    lr = _lr("kspace", level)
    sigma, source = noise_level(lr)
    assert source == "background"
    assert sigma == pytest.approx(level, rel=0.3)


def test_ringing_and_an_offset_are_not_noise() -> None:
    """Noise-free k-space truncation: ringing, and the minimum subtracted as by the intensity
    map (it lifts the whole background), must not read as percent-level noise."""
    lr = _lr("kspace", 0.0)
    assert lr.min() < 0  # Gibbs undershoot
    shifted = (lr - lr.min()) / np.percentile(lr - lr.min(), 99.9)
    sigma, source = noise_level(shifted)
    assert source == "background" and sigma < 0.005
    est = estimate_acquisition(shifted, 2)
    assert est.noise < 0.005  # low enough for the k-space projection (PROJECT_BELOW_NOISE)


def test_masked_image_falls_back_to_tissue_or_none() -> None:
    img = np.stack([_head(seed=k) for k in range(2)])  # background exactly zero
    _, source = noise_level(img)
    assert source == "tissue"
    assert noise_level(np.zeros((2, 16, 16))) == (0.0, "none")
    with pytest.raises(ValueError, match="lr must be"):
        noise_level(np.zeros((1, 2, 8, 8)))


def test_labels_confidence_and_unknown() -> None:
    sharp = estimate_acquisition(_lr("kspace", 0.0), 2)
    smooth = estimate_acquisition(_lr("gaussian", 0.0), 2)
    assert isinstance(sharp, AcquisitionEstimate)
    assert sharp.acquisition.name == "kspace" and smooth.acquisition.name == "gaussian"
    for est in (sharp, smooth):
        assert 0.0 <= est.confidence <= 1.0 and est.label in ("kspace", "gaussian", "unknown")
        assert est.confident == (est.label != "unknown")
    assert smooth.label == "gaussian" and smooth.confidence > 0.5
    assert "estimated, confidence" in smooth.describe()
    # a spectrum between the two families: unsure, reported as the robust default
    mid = 0.7 * _lr("kspace", 0.0) + 0.3 * _lr("gaussian", 0.0)
    est = estimate_acquisition(mid, 2)
    assert est.label == "unknown" and est.confidence < 0.5
    assert est.describe().startswith("unknown (read as k-space at its own resolution; nearest ")


def test_unknown_is_said_in_words() -> None:
    est = AcquisitionEstimate(get_acquisition("gaussian", scale=2), 0.012, (0.3, 0.5, 0.2),
                              0.3, "unknown", "tissue")
    assert not est.confident
    assert est.describe() == ("unknown (read as k-space at its own resolution; nearest "
                              "gaussian x2, confidence "
                              "0.30; noise <= 1.2% (tissue))")
    legacy = AcquisitionEstimate(get_acquisition("kspace", scale=2), 0.0, (0.5, 1.0, 0.0))
    assert legacy.confident and "noise not measurable" in legacy.describe()
