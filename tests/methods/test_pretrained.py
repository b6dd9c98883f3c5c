"""Model registry: checksums verified at load, trainer checkpoints, the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dnsp.errors import InputError
from dnsp.methods.pretrained import (
    available_models,
    default_model,
    file_sha256,
    load_model,
    models_dir,
    read_manifest,
    resolve_model,
)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_load_by_name_verifies_and_restores(model_folder: Path, tiny_net: torch.nn.Module
                                            ) -> None:
    net, info = load_model("tiny-x2", model_folder)
    assert info.scale == 2 and info.network == "edsr" and info.sha256
    assert _same_weights(net, tiny_net)
    assert not net.training
    assert default_model(2, model_folder) == "tiny-x2"
    assert [m.name for m in available_models(model_folder)] == ["tiny-x2"]


def test_checksum_mismatch_is_detected(model_folder: Path) -> None:
    weights = model_folder / "tiny-x2.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="checksum mismatch for model 'tiny-x2'"):
        load_model("tiny-x2", model_folder)


def test_missing_weights_and_unknown_names(model_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown model 'nope'.*tiny-x2"):
        load_model("nope", model_folder)
    with pytest.raises(InputError, match="no pretrained model for x5"):
        default_model(5, model_folder)
    (model_folder / "tiny-x2.pt").unlink()
    with pytest.raises(InputError, match="are missing"):
        load_model("tiny-x2", model_folder)
    with pytest.raises(InputError, match="no model manifest"):
        read_manifest(tmp_path / "empty")


def test_trainer_checkpoint_by_path(tmp_path: Path, tiny_net: torch.nn.Module,
                                    model_folder: Path, tiny_kwargs: dict) -> None:
    ckpt = tmp_path / "last.pt"
    config = {"model": {"name": "edsr", "params": tiny_kwargs}, "data": {"scale": 3}}
    torch.save({"model": tiny_net.state_dict(), "config": config, "epoch": 4}, ckpt)
    net, info = load_model(str(ckpt), model_folder)
    assert info.scale == 3 and info.sha256 is None and info.name == "last.pt"
    assert _same_weights(net, tiny_net)
    assert resolve_model(str(ckpt), model_folder).network_kwargs == tiny_kwargs


@pytest.mark.parametrize("content", [b"", b"not a torch file at all", None])
def test_unreadable_model_files(tmp_path: Path, model_folder: Path, content: bytes | None
                                ) -> None:
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"weights": [1, 2, 3]}, path)  # a torch file that is not a model
    else:
        path.write_bytes(content)
    with pytest.raises(InputError):
        load_model(str(path), model_folder)


def test_weights_that_do_not_fit(tmp_path: Path, tiny_net: torch.nn.Module,
                                 model_folder: Path, tiny_kwargs: dict) -> None:
    ckpt = tmp_path / "other.pt"
    config = {"model": {"name": "edsr", "params": {**tiny_kwargs, "n_feats": 8}},
              "data": {"scale": 2}}
    torch.save({"model": tiny_net.state_dict(), "config": config}, ckpt)
    with pytest.raises(InputError, match="do not fit"):
        load_model(str(ckpt), model_folder)


def test_shipped_models_are_intact_and_small() -> None:
    folder = models_dir()
    if not (folder / "manifest.json").is_file():
        pytest.skip("no shipped models in this checkout")
    manifest = read_manifest()
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert total < 30 * 2**20
    for scale in (2, 3, 4):
        name = default_model(scale)
        entry = manifest["models"][name]
        assert file_sha256(folder / entry["file"]) == entry["sha256"]
        net, info = load_model(name)
        assert info.scale == scale and not net.training
        assert (folder / entry["card"]).is_file()
    json.dumps(manifest)  # the manifest stays plain JSON


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize(("scale", "min_gain"), [(2, 2.0), (4, 0.5)])
def test_shipped_model_beats_bicubic_on_an_unseen_head(scale: int, min_gain: float) -> None:
    """Regression guard, below the measured gains of the model cards (mr-gd, 8 slices)."""
    import numpy as np

    from dnsp.evaluate.measure import evaluate_methods, volume_test_slices
    from dnsp.methods import get_method
    from dnsp.methods.network import NetworkMethod

    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mr-gd" / "MR_Gd.nii.gz"
    if not path.is_file() or not (models_dir() / "manifest.json").is_file():
        pytest.skip("shared data or shipped models not available")
    hr, lr = volume_test_slices(path, scale, n=8)
    net, _ = load_model(default_model(scale))
    res = evaluate_methods({"bicubic": get_method("bicubic"),
                            "net": NetworkMethod(net, scale)}, hr, lr, ["mr-gd"] * 8, scale)
    assert res["net"]["psnr"] - res["bicubic"]["psnr"] >= min_gain
    assert res["net"]["ssim"] > res["bicubic"]["ssim"]
    assert np.isfinite(res["net"]["psnr"])
