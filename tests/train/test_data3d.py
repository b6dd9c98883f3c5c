"""3-D training blocks for volumetric networks (DCSRN) from the data section of a config."""

import pytest
import torch

from dnsp.data.blocks3d import blocks as _blocks
from dnsp.errors import InputError
from dnsp.train.config import config_from_dict
from dnsp.train.data import load_train_data
from dnsp.train.trainer import train


def test_blocks_shapes_and_content() -> None:
    stack = torch.arange(6 * 8 * 8, dtype=torch.float32).view(6, 8, 8)
    b = _blocks(stack, 4, 4, 4)  # depth offsets 0, 2; 2x2 tiles each
    assert b.shape == (8, 1, 4, 4, 4)
    torch.testing.assert_close(b[0, 0], stack[0:4, 0:4, 0:4])
    whole = _blocks(stack, 3, None, 1)
    assert whole.shape == (2, 1, 3, 8, 8)
    torch.testing.assert_close(whole[1, 0], stack[3:6])
    assert _blocks(stack, 7, 4, 4).shape[0] == 0


def test_dcsrn_trains_on_embedded_3d_blocks(tmp_path) -> None:
    cfg = config_from_dict({
        "model": {"name": "dcsrn"},
        "loss": {"variant": "NP"},
        "data": {"source": "embedded", "patch_depth": 8, "patch": 24, "stride": 24,
                 "max_patches": 16, "max_val_slices": 1},
        "optim": {"epochs": 1, "batch_size": 8},
        "run": {"out_dir": str(tmp_path), "val_batch_size": 1, "tensorboard": False,
                "progress": False},
    }).validate()
    data = load_train_data(cfg.data)
    assert data.spatial_dims == 3
    assert data.train_inputs.shape == (16, 1, 8, 24, 24)
    assert data.val_inputs.shape[:3] == (1, 1, 8)
    result = train(cfg, data, quiet=True)
    assert result.steps == 2 and (tmp_path / "best.pt").is_file()


def test_patch_depth_larger_than_stack() -> None:
    cfg = config_from_dict({"data": {"source": "embedded", "patch_depth": 41}}).validate()
    with pytest.raises(InputError, match="patch_depth"):
        load_train_data(cfg.data)
