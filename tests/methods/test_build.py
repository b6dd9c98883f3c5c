"""build_method: the one builder of every SR method (registered, shipped model, file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dnsp.acquisition import get_acquisition
from dnsp.errors import InputError
from dnsp.methods import (
    CAPABILITIES,
    MODEL_PREFIX,
    available_methods,
    build_method,
    has_capability,
)
from dnsp.methods.bicubic import Bicubic
from dnsp.methods.lrtv import LRTV
from dnsp.methods.network import NetworkMethod
from dnsp.methods.pretrained import save_model_file
from dnsp.methods.srsw import SRSW


def test_registered_methods_with_params() -> None:
    assert available_methods() == ["bicubic", "lrtv", "srsw", "zerofill"]
    bic = build_method("Bicubic", params={"clip": False})
    assert isinstance(bic, Bicubic) and not bic.clip and bic.name == "bicubic"
    lrtv = build_method("lrtv", params={"max_iter": 3}, name="LRTV-3")
    assert isinstance(lrtv, LRTV) and lrtv.max_iter == 3 and lrtv.name == "LRTV-3"
    with pytest.raises(TypeError):
        build_method("srsw", params={"no_such_param": 1})


def test_capabilities_are_declared_not_named() -> None:
    assert has_capability(LRTV(), "whole_stack") and has_capability(SRSW(), "whole_stack")
    assert has_capability(SRSW(), "learns_from_examples")
    assert not has_capability(Bicubic(), "whole_stack")
    assert not has_capability(Bicubic(), "learns_from_examples")
    assert not has_capability(object(), "whole_stack")  # absent means False
    assert not has_capability(Bicubic(), "per_volume")
    assert set(CAPABILITIES) == {"whole_stack", "learns_from_examples", "per_volume"}
    with pytest.raises(ValueError, match="unknown capability"):
        has_capability(Bicubic(), "wholestack")


def test_shipped_names_files_and_default(model_folder: Path, tmp_path: Path) -> None:
    net = build_method(None, 2, models_folder=model_folder)
    assert isinstance(net, NetworkMethod) and net.name == "tiny-x2" and net.scale == 2
    assert net.acquisition == get_acquisition("gaussian", scale=2)
    by_name = build_method("tiny-x2", 2, models_folder=model_folder, name="mine")
    assert isinstance(by_name, NetworkMethod) and by_name.name == "mine"
    path = model_folder / "tiny-x2.pt"
    for spec in (str(path), MODEL_PREFIX + str(path), MODEL_PREFIX + "tiny-x2"):
        method = build_method(spec, 2, models_folder=model_folder)
        assert isinstance(method, NetworkMethod)
    assert build_method(str(path), 2).name == "tiny-x2.pt"  # a file needs no registry


def test_errors_are_one_line_input_errors(model_folder: Path) -> None:
    cases = [
        (lambda: build_method("nope", 2, models_folder=model_folder),
         rf"unknown SR method 'nope'; valid: {', '.join(available_methods())}, a shipped "
         r"model \(tiny-x2\)"),
        (lambda: build_method(MODEL_PREFIX + "nope", 2, models_folder=model_folder),
         "unknown model 'nope'"),
        (lambda: build_method("tiny-x2", 3, models_folder=model_folder), "trained for x2"),
        (lambda: build_method(None, 3, models_folder=model_folder), "no pretrained model for x3"),
        (lambda: build_method(None, 1, models_folder=model_folder), "integer >= 2"),
        (lambda: build_method(None, 2, models_folder=model_folder, device="tpu"), "device"),
        (lambda: build_method("tiny-x2", 2, params={"clip": False},
                              models_folder=model_folder), "params are for"),
        (lambda: build_method(None, 2, acquisition=get_acquisition("identity"),
                              models_folder=model_folder), "differs from the acquisition"),
    ]
    for call, match in cases:
        with pytest.raises(InputError, match=match) as info:
            call()
        assert "\n" not in str(info.value)


def test_self_ensemble_from_manifest(model_folder: Path) -> None:
    """The model's manifest sets the default ensemble; the argument overrides it."""
    assert build_method(None, 2, models_folder=model_folder).ensemble == 1  # no manifest field
    manifest = json.loads((model_folder / "manifest.json").read_text())
    manifest["models"]["tiny-x2"]["ensemble"] = 8
    (model_folder / "manifest.json").write_text(json.dumps(manifest))
    assert build_method(None, 2, models_folder=model_folder).ensemble == 8
    assert build_method(None, 2, models_folder=model_folder, ensemble=2).ensemble == 2
    with pytest.raises(InputError, match="--ensemble must be one of 1, 2, 4, 8"):
        build_method(None, 2, models_folder=model_folder, ensemble=3)


def test_identity_acquisition_runs_the_plain_network(tmp_path: Path,
                                                     tiny_net: torch.nn.Module) -> None:
    """Registered pairs: the network on whole slices as they are, whatever it was trained at.

    This is what the former ``SameGridNetwork`` of dnsp.evaluate computed, clipped to [0, 1] as
    the evaluation clips every prediction. That class sent 4 slices per network call; one slice
    per call (as here) differs from it by at most 1 float32 ulp (the convolution's summation
    order depends on the batch size).
    """
    path = tmp_path / "x3.pt"
    save_model_file(tiny_net, "edsr", {"n_blocks": 1, "n_feats": 4, "input_skip": True}, 3,
                    path)
    method = build_method(str(path), acquisition=get_acquisition("identity"))
    assert isinstance(method, NetworkMethod) and method.scale == 1 and method.background is None
    rng = np.random.default_rng(0)
    lr = rng.uniform(0, 1, (5, 20, 18)).astype(np.float32)
    lr[:, :6] = 0.0  # a background band: not skipped for pairs
    out = method.upscale_stack(lr, 1)
    with torch.inference_mode():
        x = torch.from_numpy(lr)[:, None]
        single = torch.cat([tiny_net(x[i:i + 1]) for i in range(5)])[:, 0].clamp(0.0, 1.0)
        batched = torch.cat([tiny_net(x[i:i + 4]) for i in range(0, 5, 4)])[:, 0].clamp(0.0, 1.0)
    assert out.shape == lr.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, single.numpy(), atol=1e-6)  # channels-last rounding
    np.testing.assert_allclose(out, batched.numpy(), rtol=0, atol=2.5e-7)
