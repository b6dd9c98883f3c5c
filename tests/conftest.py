"""Fixtures shared by several test folders: a tiny seeded network and a model registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from dnsp.methods.pretrained import save_model_file
from dnsp.nets import build_network

TINY_KWARGS = {"n_blocks": 1, "n_feats": 4, "input_skip": True}


@pytest.fixture
def tiny_kwargs() -> dict[str, object]:
    """Constructor arguments of the tiny test network."""
    return dict(TINY_KWARGS)


@pytest.fixture
def tiny_net() -> torch.nn.Module:
    """A randomly initialised 1-block, 4-filter EDSR (seeded)."""
    torch.manual_seed(0)
    return build_network("edsr", **TINY_KWARGS).eval()


@pytest.fixture
def model_folder(tmp_path: Path, tiny_net: torch.nn.Module) -> Path:
    """A models folder with a tiny x2 model registered in manifest.json (like the shipped one)."""
    folder = tmp_path / "models"
    folder.mkdir()
    digest = save_model_file(tiny_net, "edsr", TINY_KWARGS, 2, folder / "tiny-x2.pt")
    manifest = {
        "format": 1,
        "defaults": {"2": "tiny-x2"},
        "models": {"tiny-x2": {"file": "tiny-x2.pt", "sha256": digest, "scale": 2,
                               "network": "edsr", "network_kwargs": TINY_KWARGS}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def chromium() -> str:
    """Path of a headless-capable Chromium; the test is skipped when none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium is not installed (apt-get install chromium)")
