"""The robust default routes each volume by its acquisition estimate (issue 28)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dnsp.acquisition import AcquisitionEstimate, get_acquisition
from dnsp.methods import build_method
from dnsp.methods.by_estimate import ByEstimate
from dnsp.methods.network import NATIVE_EXACT_BELOW, PROJECT_EXACT_BELOW, NetworkMethod
from dnsp.methods.pretrained import default_model
from dnsp.ops.band_gate import SMOOTH_READ_PASSES

from .conftest import phantom_stack


def _estimate(label: str, noise: float = 0.01, nearest: str = "gaussian") -> AcquisitionEstimate:
    acq = get_acquisition(label if label != "unknown" else nearest, scale=2)
    return AcquisitionEstimate(acq, noise, (0.3, 0.0, 0.0), 0.9, label)


@pytest.fixture(scope="module")
def robust() -> ByEstimate:
    method = build_method(None, 2, threads=1, gate=2.0, keep_range=True)
    assert isinstance(method, ByEstimate)
    return method


def test_the_default_is_the_mixture_and_the_kspace_model(robust: ByEstimate) -> None:
    kspace = get_acquisition("kspace", scale=2)
    assert robust.smooth.name == default_model(2)
    assert robust.sharp.name == default_model(2, acquisition=kspace)
    assert robust.sharp.projector == kspace and robust.sharp.consistency == "auto"
    assert robust.smooth.projector is None
    assert robust.smooth.gate == robust.sharp.gate == 2.0
    assert robust.smooth.keep_range and robust.sharp.keep_range
    assert robust.scale == 2 and robust.per_volume and not robust.whole_stack


@pytest.mark.parametrize(("label", "network", "exact_below"), [
    ("gaussian", "smooth", PROJECT_EXACT_BELOW),
    ("kspace", "sharp", PROJECT_EXACT_BELOW),
    ("unknown", "sharp", NATIVE_EXACT_BELOW),
])
def test_routes_by_label(robust: ByEstimate, label: str, network: str,
                         exact_below: float) -> None:
    est = _estimate(label, noise=0.012)
    fixed = robust.for_volume(estimate=est)
    assert isinstance(fixed, NetworkMethod)
    assert fixed.name == getattr(robust, network).name
    assert fixed.served  # the per-file line says why
    assert fixed.noise == pytest.approx(0.012)
    if network == "sharp":
        assert fixed.consistency == "on" and fixed.exact_below == exact_below
        # 1.2 % noise: exact for a scan read at its own resolution, damped for k-space data
        assert (fixed.damping == 0.0) == (label == "unknown")
    else:
        assert fixed.consistency == "off"
    # a smooth read is deblurred: its flat gate localizes what lies beyond the band harder
    assert fixed.flat_passes == (SMOOTH_READ_PASSES if label == "gaussian" else 1)
    # routing copies: the router's own networks are unchanged
    assert robust.sharp.exact_below == PROJECT_EXACT_BELOW and robust.sharp.served == ""
    assert robust.smooth.flat_passes == robust.sharp.flat_passes == 1


def test_too_small_to_estimate_gets_the_default(robust: ByEstimate) -> None:
    fixed = robust.for_volume(estimate=None)
    assert fixed.name == robust.smooth.name and "too small" in fixed.served
    assert fixed.flat_passes == 1  # not known to be smooth


def test_unknown_is_read_as_kspace_at_its_own_resolution() -> None:
    est = _estimate("unknown", nearest="gaussian")
    assert est.acquisition.name == "gaussian"  # the nearest family, still reported
    assert est.assumed.name == "kspace" and est.assumed.scale == 2
    assert "read as k-space at its own resolution" in est.describe()
    assert _estimate("gaussian").assumed.name == "gaussian"


def test_noise_free_kspace_data_are_reproduced(robust: ByEstimate) -> None:
    acq = get_acquisition("kspace", scale=2)
    hr = phantom_stack(3, 48, seed=4)
    lr = acq.simulate(torch.from_numpy(hr)).numpy()
    out = robust.upscale_stack(lr, 2)
    assert out.shape == (3, 48, 48) and out.dtype == np.float32
    back = acq.operator(48, 48, torch.float64).forward(torch.from_numpy(out.astype(np.float64)))
    mse = float(np.mean((back.numpy() - lr) ** 2))
    assert mse == 0 or 10 * math.log10(1.0 / mse) >= 45.0


def test_bad_pairs_are_refused(robust: ByEstimate) -> None:
    with pytest.raises(ValueError, match="k-space"):
        ByEstimate(robust.smooth, robust.smooth)
    kspace4 = get_acquisition("kspace", scale=4)
    four = build_method(None, 4, acquisition=kspace4, given=True, threads=1)
    with pytest.raises(ValueError, match="x2 and x4"):
        ByEstimate(robust.smooth, four)


def test_without_a_kspace_model_the_default_keeps_its_own_rule() -> None:
    # no k-space model at x4: the estimator reads some blurred x4 heads as unknown, which the
    # k-space reading would not undo, so the default network serves every volume
    four = build_method(None, 4, threads=1, name="mine")
    assert isinstance(four, NetworkMethod) and four.name == "mine"
    assert four.projector is None and four.consistency == "auto"


@pytest.mark.parametrize(("label", "source", "gated"), [
    ("kspace", "background", False),  # white noise on a low matrix: the training domain
    ("kspace", "tissue", True),  # noise only bounded in the tissue: not known to be white
    ("unknown", "background", True),
    ("gaussian", "background", True),
])
def test_the_gate_is_off_only_on_a_plain_kspace_read(robust: ByEstimate, label: str, source: str,
                                                    gated: bool) -> None:
    acq = get_acquisition("kspace" if label != "gaussian" else "gaussian", scale=2)
    est = AcquisitionEstimate(acq, 0.012, (0.5, 0.0, 0.0), 0.9, label, source)
    assert est.plain_kspace == (not gated)
    fixed = robust.for_volume(estimate=est)
    assert fixed.gate == (2.0 if gated else 0.0)
    assert robust.sharp.gate == robust.smooth.gate == 2.0  # the router's own are unchanged
