"""DICOM output: a derived series read back by pydicom and SimpleITK with the NIfTI geometry."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from dnsp.cli import main
from dnsp.data.io import affine_from_sitk, load_volume
from dnsp.errors import InputError
from dnsp.infer.dicom_out import dicom_template, write_dicom_series
from dnsp.infer.upscale import FileReport, upscale_file
from dnsp.methods import get_method

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _series(folder: Path, n: int = 4, rows: int = 10, cols: int = 12) -> Path:
    """An oblique coronal MR series (int16, rescale slope 2) written with pydicom."""
    folder.mkdir(parents=True)
    c, s = np.cos(0.3), np.sin(0.3)
    row_dir = np.array([1.0, 0.0, 0.0])  # along a row: patient left (LPS x)
    col_dir = np.array([0.0, s, -c])  # down the image: mostly inferior, tilted
    normal = np.cross(row_dir, col_dir)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    grid = np.meshgrid(np.linspace(-1, 1, rows), np.linspace(-1, 1, cols), indexing="ij")
    for k in range(n):
        ds = Dataset()
        meta = FileMetaDataset()
        uid = generate_uid()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = MRImageStorage, uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = MRImageStorage, uid, "MR"
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Test^Subject", "PID-42", "19800101"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.StudyID, ds.StudyDate, ds.AccessionNumber = "S1", "20240102", "ACC7"
        ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = "COR T2", 3, k + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
        ds.ImageOrientationPatient = [*row_dir, *col_dir]
        ds.ImagePositionPatient = list(np.array([-50.0, 20.0, 30.0]) + 4.0 * k * normal)
        ds.PixelSpacing = [0.9, 0.8]
        ds.SliceThickness = 4.0
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 2, 0
        img = (300 * np.exp(-2 * (grid[0] ** 2 + grid[1] ** 2)) + 10 * k).astype("<i2")
        ds.add_new(0x7FE00010, "OW", img.tobytes())
        ds.add_new(0x00291010, "OB", b"private")  # a private tag: must not be copied
        pydicom.dcmwrite(folder / f"s{k:03d}.dcm", ds, enforce_file_format=True)
    return folder


def test_dicom_round_trip_geometry(tmp_path: Path) -> None:
    src = _series(tmp_path / "in" / "cor")
    method = get_method("bicubic", clip=False)
    nii, out = tmp_path / "sr.nii.gz", tmp_path / "sr_dicom"
    upscale_file(src, nii, method, 2)
    reports: list[FileReport] = []
    upscale_file(src, out, method, 2, fmt="dicom", report=reports.append)
    ref = nib.load(str(nii))
    assert reports[0].plane is not None and reports[0].plane.plane == "coronal"
    assert "DICOM int16, 0 voxel(s) clipped" in reports[0].line()
    # SimpleITK reads the series back with the NIfTI output's affine and values
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(out)))
    image = reader.Execute()
    np.testing.assert_allclose(affine_from_sitk(image), ref.affine, atol=1e-4)
    back = np.transpose(sitk.GetArrayFromImage(image), (2, 1, 0)).astype(np.float64)
    assert back.shape == ref.shape
    assert np.abs(back - np.asarray(ref.dataobj, np.float64)).max() <= 0.5 + 1e-6
    np.testing.assert_allclose(load_volume(out).affine, ref.affine, atol=1e-4)
    # pydicom: identifiers kept, new UIDs, derived, no private tags
    files = sorted(out.iterdir())
    assert len(files) == 4 and not list(tmp_path.glob(".*part*"))
    first = [pydicom.dcmread(f) for f in files]
    source = pydicom.dcmread(next(iter(sorted(src.iterdir()))))
    for ds in first:
        assert ds.PatientID == "PID-42" and str(ds.PatientName) == "Test^Subject"
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.FrameOfReferenceUID == source.FrameOfReferenceUID
        assert ds.AccessionNumber == "ACC7"
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
        assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
        assert ds.SeriesDescription == "COR T2 dnsp x2" and ds.SeriesNumber == 1003
        assert (0x0029, 0x1010) not in ds
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.45, 0.4])
        assert (ds.Rows, ds.Columns) == (20, 24)
    assert len({ds.SOPInstanceUID for ds in first} | {source.SOPInstanceUID}) == 5
    assert len({ds.SeriesInstanceUID for ds in first}) == 1


def test_dicom_output_refusals(tmp_path: Path) -> None:
    src = _series(tmp_path / "cor")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("keep")
    with pytest.raises(InputError, match="not empty"):
        upscale_file(src, busy, get_method("bicubic"), 2, fmt="dicom")
    with pytest.raises(InputError, match="not empty"):
        write_dicom_series(np.zeros((2, 2, 2)), np.eye(4), busy, dicom_template(src),
                           description="x", derivation="y")
    with pytest.raises(InputError, match="no DICOM series"):
        dicom_template(tmp_path / "busy")
    assert (busy / "x.txt").read_text() == "keep"


def test_cli_dicom_series_to_folder_and_format_flag(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = _series(tmp_path / "in" / "cor")
    assert main(["upscale", str(src), str(tmp_path / "dcm"), "-s", "2", "--method",
                 "bicubic"]) == 0
    assert "DICOM int16" in capsys.readouterr().out
    assert len(list((tmp_path / "dcm").glob("*.dcm"))) == 4
    # folder mode with --format dicom: the series becomes a series folder
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "tree"), "-s", "2",
                 "--method", "bicubic", "--format", "dicom", "-q"]) == 0
    assert len(list((tmp_path / "tree" / "cor").glob("*.dcm"))) == 4
    # --format nifti keeps the old behaviour: a folder of NIfTI files
    assert main(["upscale", str(src), str(tmp_path / "nii"), "-s", "2", "--method",
                 "bicubic", "--format", "nifti", "-q"]) == 0
    assert (tmp_path / "nii" / "cor.nii.gz").is_file()


@pytest.mark.data
@pytest.mark.slow
def test_real_series_round_trip(tmp_path: Path) -> None:
    series = SHARED / "dicom" / "pd-fse-5mm"
    if not series.is_dir():
        pytest.skip("shared data not available")
    method = get_method("bicubic", clip=False)
    upscale_file(series, tmp_path / "o.nii.gz", method, 2)
    upscale_file(series, tmp_path / "dcm", method, 2, fmt="dicom")
    ref = nib.load(str(tmp_path / "o.nii.gz"))
    back = load_volume(tmp_path / "dcm")
    np.testing.assert_allclose(back.affine, ref.affine, atol=1e-3)
    assert np.abs(back.data - np.asarray(ref.dataobj)).max() <= 0.5 + 1e-4
