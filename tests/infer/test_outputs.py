"""Output types (``--dtype``), output checks before any work, the QC picture, the per-file line."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from dnsp.data.io import load_volume
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path
from dnsp.infer import outputs
from dnsp.infer.outputs import (
    OutputType,
    cast_output,
    check_output_folder,
    expected_output_bytes,
    output_type,
)
from dnsp.infer.upscale import FileReport, check_file_output, upscale_file
from dnsp.methods import get_method


def _scan(path: Path, data: np.ndarray, dtype: type = np.float32,
          slope_inter: tuple[float, float] | None = None) -> Path:
    img = nib.Nifti1Image(data.astype(dtype), np.diag([1.0, 1.0, 3.0, 1.0]))
    img.set_data_dtype(dtype)
    if slope_inter is not None:
        img.header.set_slope_inter(*slope_inter)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    return path


def _blob(shape: tuple[int, int, int] = (10, 8, 3), peak: float = 200.0) -> np.ndarray:
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    return peak * np.exp(-2.0 * sum(g**2 for g in grids))


def test_output_type_rules(tmp_path: Path) -> None:
    u8 = load_volume(_scan(tmp_path / "u8.nii", np.round(_blob()), np.uint8))
    f32 = load_volume(_scan(tmp_path / "f.nii", _blob()))
    scaled = load_volume(_scan(tmp_path / "s.nii", np.round(_blob()), np.int16, (0.5, 10.0)))
    assert output_type("same", u8) == OutputType(np.dtype(np.uint8))
    assert output_type("same", f32) == OutputType(np.dtype(np.float32))
    assert output_type("same", None) == OutputType(np.dtype(np.float32))  # DICOM, raw
    assert output_type("same", scaled) == OutputType(np.dtype(np.int16), 0.5, 10.0)
    assert output_type("uint8", scaled) == OutputType(np.dtype(np.uint8), 0.5, 10.0)
    assert output_type("int16", f32) == OutputType(np.dtype(np.int16))
    assert output_type("FLOAT32", u8).dtype == np.float32
    assert "scl_slope 0.5" in output_type("same", scaled).describe()
    with pytest.raises(InputError, match="--dtype"):
        output_type("float64", u8)


def test_cast_rounds_clips_and_counts() -> None:
    data = np.array([-3.4, -0.6, 0.4, 254.6, 255.4, 300.0], np.float32).reshape(1, 2, 3)
    stored, clipped = cast_output(data, OutputType(np.dtype(np.uint8)))
    assert stored.dtype == np.uint8 and clipped == 3  # -3.4 -> -3, -0.6 -> -1, 300
    np.testing.assert_array_equal(stored.ravel(), [0, 0, 0, 255, 255, 255])
    stored, clipped = cast_output(data, OutputType(np.dtype(np.int16), 0.5, 10.0))
    np.testing.assert_array_equal(stored.ravel(), np.rint((data.ravel() - 10.0) / 0.5))
    assert clipped == 0
    same, none = cast_output(data, OutputType(np.dtype(np.float32)))
    assert none == 0 and np.array_equal(same, data)


@pytest.mark.parametrize("dtype,src_dtype,slope_inter", [
    ("same", np.uint8, None), ("same", np.int16, (0.5, 10.0)), ("int16", np.float32, None),
    ("uint8", np.float32, None), ("float32", np.uint8, None)])
def test_dtype_round_trip(tmp_path: Path, dtype: str, src_dtype: type,
                          slope_inter: tuple[float, float] | None) -> None:
    data = np.round(_blob(peak=250.0)) - (20.0 if src_dtype is not np.uint8 else 0.0)
    src = _scan(tmp_path / "in.nii.gz", data, src_dtype, slope_inter)
    dst = tmp_path / "out.nii.gz"
    ref = tmp_path / "ref.nii.gz"
    method = get_method("bicubic", clip=False)
    reports: list[FileReport] = []
    upscale_file(src, dst, method, 2, dtype=dtype, report=reports.append)
    upscale_file(src, ref, method, 2, dtype="float32")
    out, exact = nib.load(str(dst)), np.asarray(nib.load(str(ref)).dataobj, np.float64)
    kind = output_type(dtype, load_volume(src))
    assert out.get_data_dtype() == kind.dtype
    got = np.asarray(out.dataobj, np.float64)  # nibabel applies scl_slope/scl_inter
    if kind.is_integer:
        info = np.iinfo(kind.dtype)
        lo, hi = info.min * kind.slope + kind.inter, info.max * kind.slope + kind.inter
        inside = (exact >= lo) & (exact <= hi)
        assert np.abs(got - exact)[inside].max() <= kind.slope / 2 + 1e-6
        assert np.all(got[~inside] == np.where(exact[~inside] < lo, lo, hi))
        rounded = np.rint((exact - kind.inter) / kind.slope)
        n_clipped = int(np.count_nonzero((rounded < info.min) | (rounded > info.max)))
        assert f"{n_clipped} voxel(s) clipped" in reports[0].line()
        assert out.dataobj.slope == pytest.approx(kind.slope)
        assert out.dataobj.inter == pytest.approx(kind.inter)
    else:
        np.testing.assert_array_equal(got, exact)
        assert "clipped" not in reports[0].line()


def test_output_checks_refuse_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    src = _scan(tmp_path / "in.nii.gz", _blob())
    cases = {
        "does not exist": tmp_path / "missing" / "o.nii.gz",
        "not a folder": src / "o.nii.gz",
        "not writable": Path("/proc/o.nii.gz"),
    }
    if Path("/sys").is_dir():
        cases["not writable: /sys"] = Path("/sys/o.nii.gz")
    for why, dst in cases.items():
        t0 = time.perf_counter()
        with pytest.raises(InputError, match=why.split(":")[0]):
            check_file_output(src, dst, 2)
        assert time.perf_counter() - t0 < 1.0
    with pytest.raises(InputError, match=r"\.png"):
        check_file_output(src, tmp_path / "o.nii.gz", 2, qc=tmp_path / "qc.jpg")
    with pytest.raises(InputError, match="DICOM"):
        check_file_output(src, tmp_path / "series", 2, fmt="dicom")
    full = shutil.disk_usage(tmp_path)._replace(free=100)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda _p: full)
    with pytest.raises(InputError, match=r"not enough free space.*needs about"):
        check_file_output(src, tmp_path / "o.nii", 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.nii.gz"]  # nothing left


def test_check_output_folder_probe_and_sizes(tmp_path: Path) -> None:
    assert check_output_folder(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []  # the probe file is removed
    assert expected_output_bytes((10, 10, 10), 2, 4, compressed=False) == 16000 + 352
    assert expected_output_bytes((10, 10, 10), 2, 4, compressed=True) == (16000 + 352) // 2


def test_qc_png_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _scan(tmp_path / "in.nii.gz", _blob((12, 10, 4)))
    qc = tmp_path / "qc" / "view.png"
    qc.parent.mkdir()
    used: list[Path] = []
    real = atomic_path

    def spy(path):  # type: ignore[no-untyped-def]
        used.append(Path(path))
        return real(path)

    monkeypatch.setattr("dnsp.infer.qc.atomic_path", spy)
    reports: list[FileReport] = []
    upscale_file(src, tmp_path / "o.nii.gz", get_method("bicubic", clip=False), 2, qc=qc,
                 report=reports.append)
    assert used == [qc] and qc.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in qc.parent.iterdir()] == ["view.png"]  # no temporary left
    assert reports[0].qc == qc and f"QC {qc}" in reports[0].line()
    assert reports[0].line().startswith("plane axial (acquisition plane: voxels 1 x 1 x 3 mm")
