"""Reading/writing volumes: formats, header fields, atomic writes and bad input."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from dnsp.data.io import affine_from_sitk, load_volume, save_volume
from dnsp.errors import InputError


def _nifti(path, data, affine, **hdr):
    img = nib.Nifti1Image(data, affine)
    for k, v in hdr.items():
        img.header[k] = v
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=4)
    nib.save(img, str(path))


def test_nifti_roundtrip_keeps_header_fields(tmp_path, head):
    aff = np.diag([0.9, -1.2, 2.0, 1.0])
    aff[:3, 3] = (1, 2, 3)
    src = tmp_path / "in.nii.gz"
    _nifti(src, head.astype(np.int16), aff, descrip=b"my scan")
    vol = load_volume(src)
    assert vol.data.dtype == np.float32 and vol.data.shape == head.shape
    np.testing.assert_array_equal(vol.data, head.astype(np.int16))
    out = tmp_path / "out.nii"
    save_volume(vol.data * 2, vol.affine, out, like=vol)
    back = nib.load(str(out))
    assert back.header["descrip"].tobytes().rstrip(b"\0") == b"my scan"
    assert back.header.get_xyzt_units() == ("mm", "sec")
    assert int(back.header["qform_code"]) == 1 and int(back.header["sform_code"]) == 4
    assert back.get_data_dtype() == np.float32
    np.testing.assert_allclose(back.affine, aff, atol=1e-6)
    np.testing.assert_allclose(back.get_fdata(), vol.data * 2, rtol=1e-6)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_analyze_and_minc_read(tmp_path, head):
    aff = np.diag([1.0, 1.0, 2.0, 1.0])
    nib.save(nib.AnalyzeImage(head, aff), str(tmp_path / "a.img"))
    vol = load_volume(tmp_path / "a.hdr")
    np.testing.assert_allclose(vol.data, head)
    np.testing.assert_allclose(vol.zooms, [1, 1, 2])


def _write_minc1(path, data_zyx, starts, steps):
    """A minimal MINC1 (netCDF) file as BrainWeb serves them: voxel order (z, y, x)."""
    from scipy.io import netcdf_file

    f = netcdf_file(str(path), "w")
    for name, n in zip(("zspace", "yspace", "xspace"), data_zyx.shape, strict=True):
        f.createDimension(name, n)
    for k, name in enumerate(("xspace", "yspace", "zspace")):
        v = f.createVariable(name, "d", ())
        v.start, v.step = starts[k], steps[k]
        v.spacing, v.alignment = b"regular__", b"centre"
        v.direction_cosines = np.eye(3)[k]
    img = f.createVariable("image", "h", ("zspace", "yspace", "xspace"))
    img[:] = data_zyx
    img.signtype = b"signed__"
    img.valid_range = np.array([data_zyx.min(), data_zyx.max()], float)
    for name, val in (("image-max", data_zyx.max()), ("image-min", data_zyx.min())):
        f.createVariable(name, "d", ()).data[...] = float(val)
    img.image_max, img.image_min = b"image-max", b"image-min"
    f.close()


def test_minc1_read_with_world_geometry(tmp_path, head):
    from dnsp.data.orientation import axial_axes

    zyx = np.transpose(np.round(head).astype(np.int16), (2, 1, 0))
    p = tmp_path / "t1.mnc"
    _write_minc1(p, zyx, (-10.0, 20.0, -5.0), (1.5, 2.0, 2.5))
    vol = load_volume(p)
    np.testing.assert_allclose(vol.data, zyx, atol=1e-3)
    # voxel (k, j, i) of the (z, y, x) array lies at (start + step * index) per world axis
    np.testing.assert_allclose(vol.affine @ [3, 2, 1, 1], [-10 + 1.5, 20 + 4.0, -5 + 7.5, 1])
    assert axial_axes(vol.affine) == (1, 2, 0)


def test_dicom_folder_read_matches_sitk_geometry(tmp_path, head, dicom_series):
    sitk = pytest.importorskip("SimpleITK")
    folder = dicom_series(tmp_path / "series", head, (0.8, 0.9, 2.5), (10.0, -5.0, 3.0),
                          slice_thickness=2.5)
    vol = load_volume(folder)
    np.testing.assert_array_equal(vol.data, head.astype(np.int16))
    # LPS origin (10, -5, 3) is RAS (-10, 5, 3); x/y axes flip sign
    np.testing.assert_allclose(vol.affine[:3, 3], [-10.0, 5.0, 3.0], atol=1e-4)
    np.testing.assert_allclose(np.abs(np.diag(vol.affine)[:3]), [0.8, 0.9, 2.5], atol=1e-4)
    np.testing.assert_allclose(vol.affine, affine_from_sitk(sitk.ReadImage(
        sorted(str(p) for p in folder.iterdir()))), atol=1e-4)
    assert vol.meta["slice_thickness"] == 2.5  # SliceThickness (0018,0050)
    no_tag = load_volume(dicom_series(tmp_path / "plain", head, (0.8, 0.9, 2.5)))
    assert "slice_thickness" not in no_tag.meta


@pytest.mark.data
def test_real_dicom_series_agrees_with_its_nifti_conversion(tmp_path, shared_data):
    """Geometry and pixels against an independent pydicom reading, then through NIfTI."""
    pydicom = pytest.importorskip("pydicom")
    folder = shared_data / "dicom" / "pd-fse-5mm"
    vol = load_volume(folder)
    dss = [pydicom.dcmread(str(p)) for p in sorted(folder.glob("*.dcm"))]
    row_cos, col_cos = (np.array(dss[0].ImageOrientationPatient[:3], float),
                        np.array(dss[0].ImageOrientationPatient[3:], float))
    normal = np.cross(row_cos, col_cos)
    dss.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
    assert vol.data.shape == (dss[0].Columns, dss[0].Rows, len(dss))
    for k in (0, len(dss) // 2, len(dss) - 1):
        ref = dss[k].pixel_array.astype(np.float32) * float(getattr(dss[k], "RescaleSlope", 1))
        ref += float(getattr(dss[k], "RescaleIntercept", 0))
        np.testing.assert_allclose(vol.data[:, :, k], ref.T, atol=1e-3)
    # voxel (i, j, k) -> LPS position of slice k + i * dx * row_cos + j * dy * col_cos
    dy, dx = (float(v) for v in dss[0].PixelSpacing)
    to_ras = np.array([-1.0, -1.0, 1.0])
    for i, j, k in [(0, 0, 0), (10, 200, 5), (255, 3, len(dss) - 1)]:
        lps = (np.array(dss[k].ImagePositionPatient, float) + i * dx * row_cos
               + j * dy * col_cos)
        np.testing.assert_allclose((vol.affine @ [i, j, k, 1])[:3], lps * to_ras, atol=0.5)
    save_volume(vol.data, vol.affine, tmp_path / "conv.nii.gz", like=vol)
    conv = load_volume(tmp_path / "conv.nii.gz")
    np.testing.assert_array_equal(conv.data, vol.data)
    np.testing.assert_allclose(conv.affine, vol.affine, atol=1e-4)


@pytest.mark.parametrize("case", ["missing", "empty", "text", "corrupt_gz", "2d", "4d", "nan"])
def test_bad_input_raises_input_error(tmp_path, case):
    p = tmp_path / "x.nii.gz"
    if case == "empty":
        p.write_bytes(b"")
    elif case == "text":
        p = tmp_path / "x.nii"
        p.write_text("this is not an image\n" * 50)
    elif case == "corrupt_gz":
        p.write_bytes(b"\x1f\x8b\x08\x00garbage" * 20)
    elif case == "2d":
        nib.save(nib.Nifti1Image(np.zeros((5, 6), np.float32), np.eye(4)), str(p))
    elif case == "4d":
        nib.save(nib.Nifti1Image(np.zeros((5, 6, 4, 3), np.float32), np.eye(4)), str(p))
    elif case == "nan":
        d = np.ones((5, 6, 4), np.float32)
        d[1, 1, 1] = np.nan
        nib.save(nib.Nifti1Image(d, np.eye(4)), str(p))
    with pytest.raises(InputError):
        load_volume(p)


def test_empty_folder_is_not_a_dicom_series(tmp_path):
    with pytest.raises(InputError, match="DICOM"):
        load_volume(tmp_path)


def test_save_refuses_bad_names_and_leaves_nothing(tmp_path, head):
    with pytest.raises(InputError):
        save_volume(head, np.eye(4), tmp_path / "out.png")
    with pytest.raises(InputError):
        save_volume(head, np.eye(4), tmp_path / "missing" / "out.nii")
    bad = head.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError):
        save_volume(bad, np.eye(4), tmp_path / "out.nii")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- suffixes, DICOM


def test_image_suffixes_are_all_readable(tmp_path, head):
    """Every suffix of IMAGE_SUFFIXES that nibabel writes is read back by load_volume."""
    from dnsp.data.io import IMAGE_SUFFIXES

    data = head[:8, :9, :10].astype(np.float32)
    writers = {".nii": nib.Nifti1Image, ".hdr": nib.AnalyzeImage, ".mgh": nib.MGHImage,
               ".mgz": nib.MGHImage}
    checked = set()
    for suffix in IMAGE_SUFFIXES:
        base = suffix.split(".")[1]
        cls = writers.get("." + base)
        if cls is None:
            continue
        path = tmp_path / f"v{len(checked)}{suffix}"
        nib.save(cls(data, np.eye(4)), str(path))
        np.testing.assert_allclose(load_volume(path).data, data, rtol=1e-6)
        checked.add(suffix)
    assert {".nii", ".nii.gz", ".nii.bz2", ".hdr", ".hdr.gz", ".mgz"} <= checked


def test_image_suffixes_cover_both_former_lists():
    from dnsp.data.io import IMAGE_SUFFIXES, RAW_SUFFIXES

    former_data = (".nii", ".nii.gz", ".nii.bz2", ".hdr", ".mnc", ".mnc.gz")
    former_infer = (".nii", ".nii.gz", ".hdr", ".hdr.gz", ".mnc", ".mnc.gz")
    assert set(former_data) | set(former_infer) | set(RAW_SUFFIXES) <= set(IMAGE_SUFFIXES)
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)


@pytest.mark.parametrize(("name", "stem"), [
    ("a.nii.gz", "a"), ("A.NII.GZ", "A"), ("b.nii", "b"), ("c.hdr.gz", "c"),
    ("d.mnc", "d"), ("x.y.nii.bz2", "x.y"), ("t1.rawb.gz", "t1"), ("notes.txt", None),
    ("scan.img", None), ("nii", None),
])
def test_image_stem(name, stem):
    from dnsp.data.io import image_stem

    assert image_stem(name) == stem


def test_is_dicom_file(tmp_path):
    from dnsp.data.io import is_dicom_file

    (tmp_path / "x.DCM").write_bytes(b"")
    (tmp_path / "magic").write_bytes(b"\0" * 128 + b"DICM" + b"rest")
    (tmp_path / "short").write_bytes(b"\0" * 100)
    (tmp_path / "other").write_bytes(b"\0" * 128 + b"NOPE")
    assert is_dicom_file(tmp_path / "x.DCM")
    assert is_dicom_file(str(tmp_path / "magic"))
    assert not is_dicom_file(tmp_path / "short")
    assert not is_dicom_file(tmp_path / "other")
    assert not is_dicom_file(tmp_path / "missing")


def test_io_and_brainweb_import_no_circle():
    """brainweb builds volumes from dnsp.data.volume; io imports brainweb at module top."""
    import ast
    from pathlib import Path

    import dnsp.data.brainweb as bw

    tree = ast.parse(Path(bw.__file__).read_text(encoding="utf-8"))
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "dnsp.data.io" not in mods


@pytest.mark.parametrize("kind", ["rgb", "complex"])
def test_vector_and_complex_voxels_are_refused_in_one_line(tmp_path, kind):
    import nibabel as nib

    if kind == "rgb":
        arr = np.zeros((6, 6, 3), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    else:
        arr = np.zeros((6, 6, 3), np.complex64)
    path = tmp_path / f"{kind}.nii.gz"
    nib.save(nib.Nifti1Image(arr, np.eye(4)), str(path))
    with pytest.raises(InputError, match="one real intensity per voxel"):
        load_volume(path)
