"""Training/evaluation data under other acquisition models (data.acquisition, inputs, draws)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnsp.acquisition import get_acquisition
from dnsp.data.cache import cache_key
from dnsp.data.prepare import load_eval_slices, prepare_sr_data
from dnsp.data.spec import SRDataSpec
from dnsp.errors import InputError

MIX = {"name": "mixture", "components": [{"name": "gaussian", "sigma": [0.8, 1.2]},
                                         {"name": "kspace", "noise": [0.0, 0.03]}]}


@pytest.fixture
def folder(make_ixi_folder):
    return make_ixi_folder(4, (26, 21, 24))


def _spec(root, **kw) -> SRDataSpec:
    base = dict(source="ixi", root=str(root), scale=2, n_slices=6, patch=8, stride=4,
                sharp_patch=8)
    base.update(kw)
    return SRDataSpec(**base)


def test_default_fields_keep_data_and_cache_key(folder) -> None:
    plain, explicit = _spec(folder), _spec(folder, acquisition=None, inputs=None,
                                           acquisition_draws=1)
    assert cache_key(plain) == cache_key(explicit)
    assert cache_key(plain) != cache_key(_spec(folder, acquisition={"name": "kspace"}))
    a, b = prepare_sr_data(plain), prepare_sr_data(explicit)
    assert torch.equal(a.train_inputs, b.train_inputs)


def test_kspace_acquisition_makes_the_evaluation_lr(folder) -> None:
    spec = _spec(folder, acquisition={"name": "kspace", "window": "hamming"})
    hr, lr, subjects, _ = load_eval_slices(spec, "test")
    want = get_acquisition("kspace", scale=2, window="hamming").simulate(
        torch.from_numpy(hr[: subjects.count(subjects[0])]))
    np.testing.assert_allclose(lr[: want.shape[0]], want.numpy(), atol=1e-6)


def test_multichannel_inputs_and_draws(folder) -> None:
    one = prepare_sr_data(_spec(folder, acquisition=MIX))
    two = prepare_sr_data(_spec(folder, acquisition=MIX, acquisition_draws=2,
                                inputs=["zerofill", "bicubic", "features"]))
    assert one.train_inputs.shape[1] == 1
    assert two.train_inputs.shape[1:] == (5, 8, 8)
    assert two.train_inputs.shape[0] == 2 * one.train_inputs.shape[0]
    assert two.val_inputs.shape[1] == 5 and two.val_inputs.shape[2:] == two.val_targets.shape[2:]
    # feature channels are constant over a patch
    feats = two.train_inputs[:, 2:]
    assert torch.allclose(feats, feats[..., :1, :1].expand_as(feats))
    again = prepare_sr_data(_spec(folder, acquisition=MIX, acquisition_draws=2,
                                  inputs=["zerofill", "bicubic", "features"]))
    assert torch.equal(two.train_inputs, again.train_inputs)  # seeded


@pytest.mark.parametrize(("kw", "match"), [
    ({"acquisition": {"name": "sinc"}}, "valid models"),
    ({"acquisition": {"name": "kspace", "scale": 3}}, "differs"),
    ({"inputs": ["features", "bicubic"]}, "first channel"),
    ({"acquisition_draws": 0}, "acquisition_draws"),
    ({"acquisition": {"name": "kspace"}, "patch_depth": 4}, "patch_depth"),
])
def test_bad_acquisition_fields(folder, kw, match) -> None:
    with pytest.raises(InputError, match=match):
        _spec(folder, **kw)


def test_paired_sources_refuse_simulation(tmp_path) -> None:
    for sub in ("hr", "lr"):
        (tmp_path / sub).mkdir()
    with pytest.raises(InputError, match="real LR"):
        SRDataSpec(source="pairs", root=str(tmp_path), acquisition={"name": "kspace"})
