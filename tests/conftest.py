"""Fixtures shared by several test folders: a tiny seeded network and a model registry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
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


def write_dicom_series(folder: Path, data: np.ndarray, spacing: tuple[float, float, float],
                       origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
                       slice_thickness: float | None = None) -> Path:
    """Write ``data`` (X, Y, Z) as an axial MR DICOM series, one int16 file per slice."""
    sitk = pytest.importorskip("SimpleITK")
    img = sitk.GetImageFromArray(np.transpose(data.astype(np.int16), (2, 1, 0)))
    img.SetSpacing(spacing)
    img.SetOrigin(origin)
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    uid = "1.2.826.0.1.3680043.2.1125.1"
    for k in range(img.GetDepth()):
        sl = img[:, :, k]
        position = img.TransformIndexToPhysicalPoint((0, 0, k))
        tags = {"0020|000e": uid + ".2", "0020|000d": uid + ".3", "0008|0060": "MR",
                "0020|0032": "\\".join(str(v) for v in position),
                "0020|0037": "1\\0\\0\\0\\1\\0", "0020|0013": str(k + 1)}
        if slice_thickness is not None:
            tags["0018|0050"] = f"{slice_thickness:g}"
        for tag, val in tags.items():
            sl.SetMetaData(tag, val)
        writer.SetFileName(str(folder / f"im{k:03d}.dcm"))
        writer.Execute(sl)
    return folder


@pytest.fixture
def dicom_series() -> Callable[..., Path]:
    """:func:`write_dicom_series`, for tests that need a DICOM series folder."""
    return write_dicom_series
