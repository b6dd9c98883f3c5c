"""The volume pipeline: HR geometry in world coordinates, units, voxel order, folder mode."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from dnsp.data.orientation import axial_axes
from dnsp.errors import InputError
from dnsp.infer.upscale import (
    find_inputs,
    output_name,
    upscale_file,
    upscale_folder,
    upscale_volume,
)
from dnsp.methods import get_method
from dnsp.methods.network import NetworkMethod
from dnsp.ops import bicubic_upscale


def _world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    return ijk @ affine[:3, :3].T + affine[:3, 3]


@pytest.mark.parametrize("scale", [2, 3])
def test_geometry_in_world_coordinates(psr_affine: np.ndarray, make_volume, scale: int
                                       ) -> None:
    data = make_volume((8, 5, 6))
    method = get_method("bicubic", clip=False)
    hr, hr_aff = upscale_volume(data, psr_affine, method, scale)
    row, col, sl = axial_axes(psr_affine)
    assert (row, col, sl) == (0, 2, 1)
    assert hr.shape == (8 * scale, 5, 6 * scale)  # voxel order kept, slice axis untouched
    assert axial_axes(hr_aff) == (row, col, sl)
    # each block of s x s HR voxels is centred on its LR voxel, in world coordinates
    for i, k in [(0, 0), (3, 2), (7, 5)]:
        for j in (0, 4):
            hr_idx = np.array([[i * scale + a, j, k * scale + b]
                               for a in range(scale) for b in range(scale)], float)
            centre = _world(hr_aff, hr_idx).mean(axis=0)
            np.testing.assert_allclose(centre, _world(psr_affine, np.array([i, j, k], float)),
                                       atol=1e-9)
    # HR voxel sizes are the LR ones divided by s in-plane
    lr_sizes = np.linalg.norm(psr_affine[:3, :3], axis=0)
    hr_sizes = np.linalg.norm(hr_aff[:3, :3], axis=0)
    np.testing.assert_allclose(hr_sizes, lr_sizes / np.array([scale, 1, scale]))


def test_intensity_units_preserved(psr_affine: np.ndarray, make_volume) -> None:
    data = make_volume((8, 5, 6), peak=3000.0)
    hr, _ = upscale_volume(data, psr_affine, get_method("bicubic", clip=False), 2)
    # bicubic in input units: exactly the interpolation of the raw intensities (no clipping at
    # the 99.9th percentile, no [0, 1] range left over)
    stack = torch.from_numpy(np.transpose(data, (1, 0, 2)).copy())
    expected = np.transpose(bicubic_upscale(stack.double(), 2).numpy(), (1, 0, 2))
    np.testing.assert_allclose(hr, expected, rtol=1e-5, atol=1e-3)
    assert hr.max() > 0.9 * data.max()
    assert abs(hr.mean() - data.mean()) < 0.01 * data.mean()


def test_network_output_in_input_units(psr_affine: np.ndarray, make_volume,
                                       tiny_net: torch.nn.Module) -> None:
    data = make_volume((8, 5, 6), peak=500.0)
    method = NetworkMethod(tiny_net, 2, background=None)
    hr, _ = upscale_volume(data, psr_affine, method, 2)
    # u = (x - min) / p99.9(x - min) goes through the method, then back to input units
    offset = float(data.min())
    factor = np.float32(np.percentile(data - np.float32(offset), 99.9))
    stack = (np.transpose(data, (1, 0, 2)) - offset) / factor
    expected = np.transpose(method.upscale_stack(stack.astype(np.float32), 2) * factor
                            + offset, (1, 0, 2))
    np.testing.assert_allclose(hr, expected, rtol=1e-5, atol=1e-3)


def test_degenerate_volumes_give_constants(tiny_net: torch.nn.Module) -> None:
    method = NetworkMethod(tiny_net, 2)
    hr, aff = upscale_volume(np.full((1, 1, 1), 7.0, np.float32), np.eye(4), method, 2)
    assert hr.shape == (2, 2, 1) and np.all(hr == 7.0)
    np.testing.assert_allclose(aff[:3, 3], [-0.25, -0.25, 0.0])
    hr, _ = upscale_volume(np.zeros((3, 4, 2), np.float32), np.eye(4), method, 3)
    assert hr.shape == (9, 12, 2) and np.all(hr == 0)


def test_negative_and_bad_volumes(tiny_net: torch.nn.Module) -> None:
    method = get_method("bicubic", clip=False)
    z = np.random.default_rng(0).normal(-3.0, 0.5, (4, 4, 3)).astype(np.float32)
    hr, _ = upscale_volume(z, np.eye(4), method, 2)  # mostly negative: scaled by max |x|
    assert np.all(np.isfinite(hr)) and hr.mean() < 0
    with pytest.raises(InputError, match="3-D"):
        upscale_volume(np.zeros((4, 4), np.float32), np.eye(4), method, 2)
    with pytest.raises(InputError, match="NaN"):
        upscale_volume(np.full((2, 2, 2), np.nan, np.float32), np.eye(4), method, 2)
    with pytest.raises(ValueError, match=">= 2"):  # the command line parses --scale once
        upscale_volume(np.ones((2, 2, 2), np.float32), np.eye(4), method, 1)


def test_upscale_file_writes_atomically(nifti_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.nii.gz"
    method = get_method("bicubic", clip=False)
    upscale_file(nifti_file, out, method, 2, progress=False)
    img = nib.load(str(out))
    assert img.shape == (24, 10, 12) and img.get_data_dtype() == np.float32
    with pytest.raises(InputError, match="input itself"):
        upscale_file(nifti_file, nifti_file, method, 2)
    with pytest.raises(InputError, match=r"\.nii"):
        upscale_file(nifti_file, tmp_path / "out.png", method, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out.nii.gz"]


def _bids_tree(root: Path, make_volume, psr_affine: np.ndarray) -> None:
    for sub in ("sub-01", "sub-02"):
        anat = root / sub / "anat"
        anat.mkdir(parents=True)
        img = nib.Nifti1Image(make_volume((8, 5, 6), seed=len(sub)), psr_affine)
        nib.save(img, str(anat / f"{sub}_T1w.nii.gz"))
        (anat / f"{sub}_T1w.json").write_text("{}")
    (root / "dataset_description.json").write_text("{}")
    (root / ".hidden").mkdir()
    nib.save(nib.Nifti1Image(make_volume((4, 4, 4)), np.eye(4)), str(root / ".hidden" / "x.nii"))


def test_folder_mode_mirrors_and_skips(tmp_path: Path, make_volume, psr_affine: np.ndarray
                                       ) -> None:
    src, dst = tmp_path / "bids", tmp_path / "out"
    _bids_tree(src, make_volume, psr_affine)
    method = get_method("bicubic", clip=False)
    lines: list[str] = []
    res = upscale_folder(src, dst, method, 2, progress=False, log=lines.append)
    expected = [dst / "sub-01/anat/sub-01_T1w.nii.gz", dst / "sub-02/anat/sub-02_T1w.nii.gz"]
    assert res.written == expected and not res.skipped and not res.failed
    assert nib.load(str(expected[0])).shape == (16, 5, 12)
    assert len(lines) == 2
    stamp = os.stat(expected[0]).st_mtime_ns
    res = upscale_folder(src, dst, method, 2, progress=False)
    assert res.skipped == expected and not res.written
    assert os.stat(expected[0]).st_mtime_ns == stamp
    res = upscale_folder(src, dst, method, 2, progress=False, overwrite=True)
    assert res.written == expected


def test_folder_mode_keeps_going_and_leaves_nothing(tmp_path: Path, make_volume,
                                                    psr_affine: np.ndarray) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    _bids_tree(src, make_volume, psr_affine)
    bad = src / "sub-00" / "anat"
    bad.mkdir(parents=True)
    (bad / "sub-00_T1w.nii.gz").write_bytes(b"\x1f\x8b broken")
    res = upscale_folder(src, dst, get_method("bicubic", clip=False), 2, progress=False)
    assert len(res.written) == 2 and len(res.failed) == 1
    assert res.failed[0][0] == bad / "sub-00_T1w.nii.gz"
    assert not (dst / "sub-00").exists()  # no folder, no partial file for the failure
    leftovers = [p for p in dst.rglob("*") if p.is_file() and ".part" in p.name]
    assert not leftovers


def test_folder_mode_bad_arguments(tmp_path: Path, make_volume, psr_affine: np.ndarray
                                   ) -> None:
    src = tmp_path / "in"
    _bids_tree(src, make_volume, psr_affine)
    method = get_method("bicubic", clip=False)
    with pytest.raises(InputError, match="input itself"):
        upscale_folder(src, src, method, 2)
    with pytest.raises(InputError, match="does not exist"):
        upscale_folder(tmp_path / "nope", tmp_path / "o", method, 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        upscale_folder(tmp_path / "empty", tmp_path / "o", method, 2)
    # output inside the input is not picked up as input on the next run
    inner = src / "derivatives" / "sr"
    upscale_folder(src, inner, method, 2, progress=False)
    assert all("derivatives" not in str(rel) for _, rel in find_inputs(src, exclude=inner))


def test_output_names() -> None:
    assert output_name(Path("a/b.nii")) == Path("a/b.nii.gz")
    assert output_name(Path("a/b.hdr")) == Path("a/b.nii.gz")
    assert output_name(Path("a/x.mnc.gz")) == Path("a/x.nii.gz")
    assert output_name(Path("a/b.v1.nii.gz")) == Path("a/b.v1.nii.gz")


SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.mark.slow
@pytest.mark.data
def test_real_dicom_series_file_and_folder_mode(tmp_path: Path) -> None:
    series = SHARED / "dicom" / "pd-fse-5mm"
    if not series.is_dir():
        pytest.skip("shared data not available")
    from dnsp.data.io import load_volume

    vol = load_volume(series)
    res = upscale_folder(SHARED / "dicom", tmp_path / "tree", get_method("bicubic", clip=False),
                         2, progress=False)
    assert res.written == [tmp_path / "tree" / "pd-fse-5mm.nii.gz"]
    img = nib.load(str(res.written[0]))
    row, col, _ = axial_axes(vol.affine)
    expected = list(vol.data.shape)
    expected[row] *= 2
    expected[col] *= 2
    assert list(img.shape) == expected
    # the world position of the volume's centre is unchanged by the upscaling
    centre_lr = _world(vol.affine, (np.array(vol.data.shape) - 1) / 2.0)
    centre_hr = _world(img.affine.astype(np.float64), (np.array(img.shape) - 1) / 2.0)
    np.testing.assert_allclose(centre_hr, centre_lr, atol=1e-4)  # float32 sform in the file
