"""A derived DICOM series of an upscaled volume whose input was a DICOM series (pydicom).

:func:`write_dicom_series` writes one MR Image Storage file per slice along the volume's
third voxel axis (the source series' slice axis: volumes read from DICOM keep SimpleITK's
(column, row, slice) voxel order). The first source file is the template:

* kept: patient and study identifiers (Patient's Name/ID/Birth Date/Sex, Study Instance UID,
  Study ID/Date/Time/Description, Accession Number), Frame of Reference UID (the output lies
  in the same patient space), the acquisition's descriptive attributes;
* new: Series Instance UID and one SOP Instance UID per file (:func:`pydicom.uid.
  generate_uid`), Series Number (source + 1000), Series Description (source + " dnsp xS"),
  Image Type ``DERIVED\\SECONDARY``, Derivation Description (method and scale), Instance
  Number, Rows/Columns, Pixel Spacing, Image Position/Orientation (Patient), Slice Location,
  Slice Thickness and Spacing Between Slices, all from the HR affine (RAS converted to the
  LPS of DICOM), a window over the 0.5-99.5th percentiles;
* removed: private tags and the attributes that described the source pixels (retired Image
  Position/Orientation, Smallest/Largest Pixel Value, Pixel Padding Value, Images in
  Acquisition, Patient Orientation).

Pixels are 16-bit signed integers, values rounded; Rescale Slope 1 unless the value range
does not fit (then the smallest slope that fits; values clipped to the range are counted).
The series appears under its final folder name only once every file is written (written to a
hidden sibling folder, then renamed).
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dnsp.errors import InputError
from dnsp.infer.outputs import OutputType, cast_output

__all__ = ["dicom_template", "write_dicom_series"]

_DROP = (
    (0x0020, 0x0030), (0x0020, 0x0035), (0x0028, 0x0106), (0x0028, 0x0107),
    (0x0028, 0x0120), (0x0020, 0x1002), (0x0020, 0x0020), (0x0028, 0x1050),
    (0x0028, 0x1051), (0x0028, 0x1055), (0x0008, 0x2111), (0x0008, 0x2112),
    (0x0028, 0x0108), (0x0028, 0x0109), (0x0020, 0x1041), (0x7FE0, 0x0010),
)
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def dicom_template(folder: str | os.PathLike[str]):  # type: ignore[no-untyped-def]
    """The first file (header only) of the DICOM series that :func:`dnsp.data.io.load_volume`
    reads from ``folder`` (the series with the most files).

    Raises:
        InputError: If the folder holds no DICOM series.
    """
    import pydicom
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    series = reader.GetGDCMSeriesIDs(str(folder))
    if not series:
        raise InputError(f"no DICOM series in {folder}")
    best = max(series, key=lambda s: len(reader.GetGDCMSeriesFileNames(str(folder), s)))
    first = reader.GetGDCMSeriesFileNames(str(folder), best)[0]
    return pydicom.dcmread(first, stop_before_pixels=True)


def _ds(value: float) -> str:
    """A DICOM decimal string (at most 16 characters)."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.6e}"


def _stored_type(data: np.ndarray) -> OutputType:
    lo, hi = float(np.min(data)), float(np.max(data))
    peak = max(abs(lo), abs(hi))
    slope = 1.0 if peak <= 32767.0 else peak / 32767.0
    return OutputType(np.dtype(np.int16), slope, 0.0)


def write_dicom_series(
    data: np.ndarray,
    affine: np.ndarray,
    folder: str | os.PathLike[str],
    template,  # type: ignore[no-untyped-def]
    *,
    description: str,
    derivation: str,
) -> int:
    """Write ``data`` (X, Y, Z) as a derived DICOM series in ``folder``; return clipped voxels.

    Args:
        data: The output volume in SimpleITK's voxel order of the source series.
        affine: Its RAS voxel-to-world matrix.
        folder: The series folder to create (must not exist, or be empty).
        template: The source series' first file (:func:`dicom_template`).
        description: Suffix of the Series Description (e.g. ``"dnsp x2"``).
        derivation: Derivation Description (e.g. the method and scale).

    Returns:
        The number of voxels clipped to the 16-bit range (0 unless values exceed it).

    Raises:
        InputError: If ``folder`` exists and is not an empty folder.
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    out = Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"DICOM output folder exists and is not empty: {out}")
    arr = np.asarray(data, dtype=np.float32)
    kind = _stored_type(arr)
    stored, clipped = cast_output(arr, kind)
    lps = _RAS_TO_LPS @ np.asarray(affine, dtype=np.float64)[:3, :3]
    origin = _RAS_TO_LPS @ np.asarray(affine, dtype=np.float64)[:3, 3]
    sizes = np.linalg.norm(lps, axis=0)
    cosines = lps / sizes[None, :]
    normal = np.cross(cosines[:, 0], cosines[:, 1])
    lo, hi = (float(v) for v in np.percentile(arr, [0.5, 99.5]))
    series_uid = generate_uid()
    base = template.copy()
    base.remove_private_tags()
    for tag in _DROP:
        if tag in base:
            del base[tag]
    for elem in [e for e in base if e.tag.group == 0]:
        del base[elem.tag]
    base.ImageType = ["DERIVED", "SECONDARY"]
    base.SeriesInstanceUID = series_uid
    base.SeriesNumber = int(getattr(template, "SeriesNumber", 0) or 0) + 1000
    base.SeriesDescription = (f"{getattr(template, 'SeriesDescription', '')} "
                              f"{description}").strip()[:64]
    base.DerivationDescription = derivation[:1024]
    base.SamplesPerPixel = 1
    base.PhotometricInterpretation = "MONOCHROME2"
    base.Rows, base.Columns = int(arr.shape[1]), int(arr.shape[0])
    # Pixel Spacing: (between rows = along voxel axis 1, between columns = along axis 0)
    base.PixelSpacing = [_ds(sizes[1]), _ds(sizes[0])]
    base.ImageOrientationPatient = [_ds(v) for v in (*cosines[:, 0], *cosines[:, 1])]
    base.SliceThickness = _ds(min(sizes[2], float(getattr(template, "SliceThickness", 0) or 0)
                                  or sizes[2]))
    base.SpacingBetweenSlices = _ds(sizes[2])
    base.BitsAllocated, base.BitsStored, base.HighBit = 16, 16, 15
    base.PixelRepresentation = 1
    base.RescaleSlope, base.RescaleIntercept = _ds(kind.slope), "0"
    base.WindowCenter, base.WindowWidth = _ds((lo + hi) / 2), _ds(max(hi - lo, 1.0))
    parent = out.parent if str(out.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=parent))
    try:
        for k in range(arr.shape[2]):
            ds = copy.deepcopy(base)
            uid = generate_uid()
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = template.SOPClassUID
            meta.MediaStorageSOPInstanceUID = uid
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta = meta
            ds.SOPInstanceUID = uid
            ds.InstanceNumber = k + 1
            position = origin + lps[:, 2] * k
            ds.ImagePositionPatient = [_ds(v) for v in position]
            ds.SliceLocation = _ds(float(position @ normal))
            # rows of the DICOM image run along voxel axis 1, columns along axis 0
            ds.add_new(0x7FE00010, "OW",
                       np.ascontiguousarray(stored[:, :, k].T).astype("<i2").tobytes())
            pydicom.dcmwrite(tmp / f"IM{k + 1:05d}.dcm", ds, enforce_file_format=True)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return clipped
