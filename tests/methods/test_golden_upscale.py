"""Golden outputs of ``dnsp upscale``: the SR methods must stay bit-identical.

The SHA-256 values below were computed on the code *before* the SR methods moved into
:mod:`dnsp.methods` (issue 20), with one CPU thread. A changed hash means a changed output,
not just a changed number format: the hash is over the float32 voxels of the written file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from dnsp.cli import main


def _volume(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A blob volume (X, Y, Z) with negatives and one bright outlier, and its affine."""
    rng = np.random.default_rng(20)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r2 = sum(g**2 for g in grids)
    vol = 900.0 * np.exp(-3.0 * r2) + 40.0 * rng.random(shape) - 5.0
    vol[shape[0] // 2, shape[1] // 2, shape[2] // 2] = 2500.0  # above the 99.9th percentile
    aff = np.diag([0.9, 1.1, 2.5, 1.0])
    aff[:3, 3] = [-5.0, 3.0, 7.0]
    return vol.astype(np.float32), aff


_BIG, _SMALL = (40, 36, 3), (18, 16, 2)
_X2_HASH = "5d347a5acf2e06736857c3c1772d7eca07c272048fc58e0ddf4a571d237f0265"
_X2_FILE = str(Path(__file__).resolve().parents[2] / "src" / "dnsp" / "infer" / "models"
               / "dnsp-edsr-ap-x2.pt")

#: case -> (volume shape, ``dnsp upscale`` arguments, SHA-256 of the float32 output voxels)
GOLDEN: dict[str, tuple[tuple[int, int, int], list[str], str]] = {
    "x2-default": (_BIG, ["--scale", "2"], _X2_HASH),
    # the same network read from its file, and tiled in 3 x 3 tiles: the same bits
    "x2-model-file": (_BIG, ["--scale", "2", "--model", _X2_FILE], _X2_HASH),
    "x2-small-tiles": (_BIG, ["--scale", "2", "--tile-pixels", "20736"], _X2_HASH),
    "x2-np-ensemble8": (
        _BIG, ["--scale", "2", "--model", "dnsp-edsr-np-x2", "--ensemble", "8"],
        "06113a959a913f53b69efd23fd332a27b7d346830ceb06d5ea68511b18a628ae"),
    "x3-default": (
        _BIG, ["--scale", "3"],
        "b3ae4ac3f0662da3ce1b97608ab804078f424d23ab5acba87115d8c356d30160"),
    "x4-default": (
        _BIG, ["--scale", "4"],
        "2d1e915d838be2f1034b7569ef29757a796e59040e92ab759707cc7a561f9ae6"),
    "bicubic-x3": (
        _BIG, ["--scale", "3", "--method", "bicubic"],
        "7373571e505c1c87d204f57fc8c000e4fc47be4526362742bddd9250d05dc71f"),
    "lrtv-x2": (
        _SMALL, ["--scale", "2", "--method", "lrtv"],
        "36c6df22f00e792f17413e6cc4024624e56f48a9c11944715debc4769ff0edca"),
    "srsw-x2": (
        _SMALL, ["--scale", "2", "--method", "srsw"],
        "b4c5907ce643adfb85a2b4aea99e54013eb3aebbca65c06bbc54abe830598609"),
}


def _digest(tmp_path: Path, shape: tuple[int, int, int], args: list[str]) -> str:
    data, aff = _volume(shape)
    inp, out = tmp_path / "in.nii.gz", tmp_path / "out.nii.gz"
    nib.save(nib.Nifti1Image(data, aff), str(inp))
    assert main(["upscale", str(inp), str(out), "--device", "cpu", "--threads", "1", "-q",
                 *args]) == 0
    hr = np.asarray(nib.load(str(out)).dataobj, dtype=np.float32)
    return hashlib.sha256(np.ascontiguousarray(hr).tobytes()).hexdigest()


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_upscale_output_is_bit_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         key: str) -> None:
    monkeypatch.setenv("DNSP_CACHE_DIR", str(tmp_path / "cache"))  # SRSW builds its library
    shape, args, digest = GOLDEN[key]
    assert _digest(tmp_path, shape, args) == digest
