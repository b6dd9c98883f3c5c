"""The four "one new file plus one registry line" recipes of docs/architecture.md.

Each test defines a tiny new component here (standing in for the new file), registers it the
way the recipe says (standing in for the registry line), and uses it through the public entry
point, by name. Registries are copied first so that nothing leaks into other tests.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import dnsp.acquisition.base as acquisition_base
import dnsp.data.sources.base as sources_base
import dnsp.methods.base as methods_base
import dnsp.nets.registry as nets_registry
from dnsp.acquisition import Acquisition, get_acquisition, register_acquisition
from dnsp.acquisition.gaussian import block_mean_matrix
from dnsp.data.degradation import degrade_slices
from dnsp.data.io import Volume
from dnsp.data.prepare import prepare_sr_data
from dnsp.data.sources import Subject, register_source
from dnsp.data.spec import SRDataSpec
from dnsp.methods import available_methods, build_method
from dnsp.nets import build_network, register_network
from dnsp.train.config import load_config
from dnsp.train.data import TrainData, load_train_data
from dnsp.train.trainer import train


@pytest.fixture(autouse=True)
def _private_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nets_registry, "_REGISTRY", dict(nets_registry._REGISTRY))
    monkeypatch.setattr(sources_base, "_REGISTRY", dict(sources_base._REGISTRY))
    monkeypatch.setattr(acquisition_base, "_REGISTRY", dict(acquisition_base._REGISTRY))
    monkeypatch.setattr(methods_base, "_REGISTRY", dict(methods_base._REGISTRY))


def _head(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    inside = sum(g**2 for g in grids) < 0.8
    return np.where(inside, 60.0 + 10.0 * rng.random(shape), 0.0).astype(np.float32)


# ----------------------------------------------------------------------------- a network


class ResidualConv(nn.Module):
    """dnsp/nets/residual_conv.py: one 3x3 convolution added to the (pre-upsampled) input."""

    spatial_dims = 2

    def __init__(self, n_feats: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, n_feats, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(n_feats, 1, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def test_recipe_network(tmp_path) -> None:
    register_network("residual-conv", n_feats=4)(ResidualConv)  # the registry line
    net = build_network("residual-conv")
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 1, 8, 8)
    cfg = load_config(None, ["model.name=residual-conv", "loss.variant=NP",
                             "optim.epochs=1", "optim.batch_size=4",
                             f"run.out_dir={tmp_path}", "run.tensorboard=false",
                             "run.progress=false"])
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 12, 12, generator=g)
    data = TrainData(x, x.clone(), x[:2].clone(), x[:2].clone())
    result = train(cfg, data, quiet=True)
    assert result.steps == 2 and (tmp_path / "best.pt").is_file()


# ----------------------------------------------------------------------------- a method


class Nearest:
    """dnsp/methods/nearest.py: nearest-neighbour upscaling of every slice."""

    name = "nearest"
    whole_stack = False

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        arr, s = methods_base.check_lr_stack(lr, scale)
        return np.repeat(np.repeat(arr, s, axis=1), s, axis=2)


def test_recipe_method() -> None:
    methods_base.register_method("nearest")(Nearest)  # the decorator (the registry line)
    assert "nearest" in available_methods()
    method = build_method("nearest", 2)
    lr = np.arange(12, dtype=np.float32).reshape(1, 3, 4) / 12
    out = method.upscale_stack(lr, 2)
    assert out.shape == (1, 6, 8) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, ::2, ::2], lr[0])
    assert not methods_base.has_capability(method, "whole_stack")


# ----------------------------------------------------------------------------- a data source


def memory_subjects(root, pattern) -> list[Subject]:
    """dnsp/data/sources/memory.py: four synthetic heads held in memory."""
    vols = [Volume(_head((32, 30, 24), k), np.eye(4)) for k in range(4)]
    return [Subject(f"m{k}", (), (lambda v=v: (v, None))) for k, v in enumerate(vols)]


def test_recipe_data_source() -> None:
    register_source("memory")(memory_subjects)  # the registry line
    data = prepare_sr_data(SRDataSpec(source="memory", n_slices=4, patch=8, stride=8,
                                      sharp_patch=8))
    assert data.train_inputs.shape[1:] == (1, 8, 8) and data.train_subjects[0] == "m0"
    cfg = load_config(None, ["data.source=memory", "data.n_slices=4", "data.patch=8",
                             "data.stride=8", "data.sharp_patch=8"])
    assert load_train_data(cfg.data).train_inputs.shape == data.train_inputs.shape
    with pytest.raises(ValueError, match="memory, pairs; got 'nope'"):
        SRDataSpec(source="nope")


# ----------------------------------------------------------------------------- an acquisition


class BoxAcquisition(Acquisition):
    """dnsp/acquisition/box.py: the s x s block mean without the Gaussian blur."""

    name = "box"

    def _acquire(self, hr: Tensor) -> Tensor:
        a_h = block_mean_matrix(hr.shape[-2], self.scale, hr.dtype)
        a_w = block_mean_matrix(hr.shape[-1], self.scale, hr.dtype)
        return a_h @ hr @ a_w.T

    def _axis_matrix(self, n: int) -> Tensor:
        return block_mean_matrix(n, self.scale)


def test_recipe_acquisition() -> None:
    register_acquisition(BoxAcquisition)  # the registry line
    acq = get_acquisition("box", scale=2)
    hr = torch.rand(3, 8, 10, generator=torch.Generator().manual_seed(1))
    lr = acq.simulate(hr)
    assert lr.shape == (3, 4, 5)
    torch.testing.assert_close(lr[0, 0, 0], hr[0, :2, :2].mean())
    op = acq.operator(8, 10)
    assert op is not None
    torch.testing.assert_close(op.forward(hr), lr)
    assert acq.network_input(lr).shape == hr.shape
    assert acquisition_base.acquisition_from_config(acq.to_config()) == acq
    out = degrade_slices(hr.numpy(), 2, acquisition=acq)  # the data layer's entry point
    np.testing.assert_allclose(out, lr.numpy(), rtol=1e-5, atol=1e-6)


def test_recipe_acquisition_reaches_the_command_line(tmp_path, capsys) -> None:
    """The recipe ends at the command line: dnsp degrade and dnsp upscale offer the model."""
    import nibabel as nib

    from dnsp.cli import build_parser, main

    register_acquisition(BoxAcquisition)  # the registry line
    for command in ("degrade", "upscale"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        assert "box" in capsys.readouterr().out.replace("\n", " ")
    hr_path, lr_path, up_path = (tmp_path / n for n in ("hr.nii.gz", "lr.nii.gz", "up.nii.gz"))
    head = _head((16, 12, 6), 0)
    nib.save(nib.Nifti1Image(head, np.eye(4)), str(hr_path))
    assert main(["degrade", str(hr_path), str(lr_path), "--scale", "2", "-a", "box"]) == 0
    assert "box x2" in capsys.readouterr().out
    lr = np.asarray(nib.load(str(lr_path)).dataobj)
    np.testing.assert_allclose(lr[0, 0, 0], head[:2, :2, 0].mean(), rtol=1e-5)
    assert main(["upscale", str(lr_path), str(up_path), "--scale", "2", "--method", "bicubic",
                 "--acquisition", "box"]) == 0
    assert "input acquisition box x2 (given)" in capsys.readouterr().out
