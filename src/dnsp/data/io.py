"""Reading and writing MR volumes with their voxel-to-world affine (SPEC section 4).

* NIfTI-1/2, Analyze and MINC files are read with nibabel; a DICOM series (a folder) with
  SimpleITK's ``ImageSeriesReader`` (its LPS geometry is converted to the RAS affine nibabel
  uses); BrainWeb raw ``.rawb``/``.raws`` files with :mod:`dnsp.data.brainweb`.
* Volumes are returned as float32 arrays in the file's own voxel order; nothing is reoriented.
* Outputs are NIfTI, written atomically (temporary name, then rename) and keep the header
  fields of the input that still apply (units, description, qform/sform codes, intent).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from dnsp.data.brainweb import read_brainweb_raw
from dnsp.data.volume import Volume, check_finite, voxel_sizes
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path

__all__ = [
    "IMAGE_SUFFIXES",
    "NIFTI_SUFFIXES",
    "RAW_SUFFIXES",
    "Volume",
    "affine_from_sitk",
    "check_finite",
    "image_stem",
    "is_dicom_file",
    "load_volume",
    "save_volume",
    "voxel_sizes",
]

#: File name endings written by :func:`save_volume`.
NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: BrainWeb raw downloads (read by :func:`dnsp.data.brainweb.read_brainweb_raw`).
RAW_SUFFIXES = (".rawb", ".raws", ".rawb.gz", ".raws.gz")
#: Every file name ending :func:`load_volume` reads as one volume (lower case): NIfTI (plain,
#: gzip, bzip2), Analyze headers (the ``.img`` beside a ``.hdr`` is not a second volume), MINC,
#: FreeSurfer MGH, and BrainWeb raw files. DICOM is recognised by :func:`is_dicom_file`.
IMAGE_SUFFIXES = (
    ".nii", ".nii.gz", ".nii.bz2", ".hdr", ".hdr.gz", ".hdr.bz2", ".mnc", ".mnc.gz",
    ".mgh", ".mgz", *RAW_SUFFIXES,
)
_BY_LENGTH = tuple(sorted(IMAGE_SUFFIXES, key=len, reverse=True))


def _lower_name(path: Path) -> str:
    return path.name.lower()


def image_stem(name: str) -> str | None:
    """``name`` without its volume suffix (case-insensitive), or ``None`` if it has none.

    Only the suffixes of :data:`IMAGE_SUFFIXES` count (the longest match is removed):
    ``"a.nii.gz" -> "a"``, ``"b.HDR" -> "b"``, ``"notes.txt" -> None``.
    """
    low = name.lower()
    for suf in _BY_LENGTH:
        if low.endswith(suf):
            return name[: len(name) - len(suf)]
    return None


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a DICOM file: a ``.dcm`` name or the ``DICM`` magic at byte 128."""
    p = Path(path)
    if p.name.lower().endswith(".dcm"):
        return True
    try:
        with open(p, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _as_volume_array(data: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(data)
    while arr.ndim > 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3:
        raise InputError(f"{what} must be a 3-D volume, got shape {tuple(arr.shape)}")
    if min(arr.shape) < 1:
        raise InputError(f"{what} is empty (shape {tuple(arr.shape)})")
    if np.iscomplexobj(arr):
        raise InputError(f"{what} holds complex values; give a magnitude image")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    check_finite(arr, what)
    return arr


def affine_from_sitk(image: Any) -> np.ndarray:
    """RAS+ voxel-to-world affine of a SimpleITK image (voxel axes in (x, y, z) order).

    SimpleITK maps index i to LPS world ``origin + D @ diag(spacing) @ i``; RAS flips the first
    two world axes.
    """
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    spacing = np.asarray(image.GetSpacing(), dtype=np.float64)
    origin = np.asarray(image.GetOrigin(), dtype=np.float64)
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing[None, :]
    lps[:3, 3] = origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def _load_dicom_folder(folder: Path) -> Volume:
    import SimpleITK as sitk

    sitk.ProcessObject_SetGlobalWarningDisplay(False)  # ITK warnings bypass Python's
    reader = sitk.ImageSeriesReader()
    try:
        series = reader.GetGDCMSeriesIDs(str(folder))
    except RuntimeError as exc:  # pragma: no cover - GDCM failure on unreadable folders
        raise InputError(f"cannot read DICOM folder {folder}: {exc}") from exc
    if not series:
        raise InputError(f"no image file or DICOM series found in folder {folder}")
    if len(series) > 1:
        # the series with the most files is the volume; others are scouts or derived images
        series = sorted(series, key=lambda s: -len(reader.GetGDCMSeriesFileNames(str(folder), s)))
    files = reader.GetGDCMSeriesFileNames(str(folder), series[0])
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()  # the slices' tags, read with the pixels
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read DICOM series in {folder}: {exc}") from exc
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"DICOM series in {folder} is not a grey-level image")
    arr = sitk.GetArrayFromImage(image)  # (z, y, x)
    if arr.ndim == 2:
        arr = arr[None]
    data = _as_volume_array(np.transpose(arr, (2, 1, 0)), f"DICOM series {folder}")
    meta: dict[str, Any] = {"format": "dicom", "files": len(files)}
    thickness = _dicom_slice_thickness(reader)
    if thickness is not None:
        meta["slice_thickness"] = thickness
    return Volume(data=data, affine=affine_from_sitk(image), header=None, path=folder,
                  meta=meta)


def _dicom_slice_thickness(reader: Any) -> float | None:
    """SliceThickness (0018,0050) in mm of the first slice an executed SimpleITK
    ``ImageSeriesReader`` read, or ``None`` if absent or invalid.

    The thickness is along the series' slice axis (voxel axis z of the loaded volume); NIfTI
    headers have no such field.
    """
    key = "0018|0050"
    try:
        text = reader.GetMetaData(0, key) if reader.HasMetaDataKey(0, key) else ""
        value = float(text.strip().split("\\")[0])
    except (RuntimeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _load_nibabel(path: Path) -> Volume:
    import nibabel as nib

    if path.stat().st_size == 0:
        raise InputError(f"file is empty: {path}")
    try:
        img = nib.load(str(path))
        raw = np.asanyarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types for corrupt/non-image files
        raise InputError(f"cannot read image file {path}: {type(exc).__name__}: {exc}") from exc
    if raw.dtype.fields is not None or np.iscomplexobj(raw) or not np.issubdtype(
            raw.dtype, np.number):
        kind = "RGB/vector" if raw.dtype.fields is not None else "non-real"
        raise InputError(f"image {path} holds {kind} voxels ({raw.dtype}); dnsp needs one "
                         "real intensity per voxel")
    data = _as_volume_array(np.asarray(raw, dtype=np.float64), f"image {path}")
    affine = np.asarray(img.affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise InputError(f"image {path} has a singular or non-finite affine")
    return Volume(data=data, affine=affine, header=img.header, path=path,
                  meta={"format": type(img).__name__})


def load_volume(path: str | os.PathLike[str]) -> Volume:
    """Read a 3-D volume (NIfTI, Analyze, MINC, BrainWeb raw file, or a DICOM series folder).

    Args:
        path: A file, or a folder holding one DICOM series.

    Returns:
        The :class:`Volume` in the file's voxel order, float32, with its RAS+ affine.

    Raises:
        InputError: Missing, empty, corrupt or non-image input, not 3-D, or NaN/Inf voxels.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"input does not exist: {p}")
    if p.is_dir():
        return _load_dicom_folder(p)
    name = _lower_name(p)
    if name.endswith(RAW_SUFFIXES):
        return read_brainweb_raw(p)
    if p.stat().st_size == 0:
        raise InputError(f"file is empty: {p}")
    if name.endswith(".dcm"):
        return _load_dicom_folder(p.parent)
    return _load_nibabel(p)


def _header_like(like: Volume | None) -> Any:
    import nibabel as nib

    if like is None or like.header is None:
        return None
    hdr = like.header
    if isinstance(hdr, nib.Nifti1Header):  # Nifti2Header subclasses Nifti1Header
        out = nib.Nifti1Header()
        for key in ("descrip", "intent_code", "intent_p1", "intent_p2", "intent_p3",
                    "intent_name", "slice_duration", "toffset", "aux_file"):
            out[key] = hdr[key]
        out.set_xyzt_units(*hdr.get_xyzt_units())
        return out
    if isinstance(hdr, nib.AnalyzeHeader):
        out = nib.Nifti1Header()
        out["descrip"] = hdr["descrip"] if "descrip" in hdr else b""
        out.set_xyzt_units("mm")
        return out
    return None


def save_volume(
    data: np.ndarray,
    affine: np.ndarray,
    path: str | os.PathLike[str],
    like: Volume | None = None,
    dtype: np.dtype | type = np.float32,
    description: str | None = None,
    slope_inter: tuple[float, float] | None = None,
) -> Path:
    """Write ``data`` as NIfTI-1 atomically, keeping the applicable header fields of ``like``.

    Kept from ``like`` (when it was read from NIfTI): description, spatial/temporal units,
    intent, qform and sform codes. Shape, voxel sizes, data type and scaling follow ``data``
    and ``affine``. The file appears under ``path`` only once it is complete.

    Args:
        data: 3-D array.
        affine: (4, 4) voxel-to-world matrix.
        path: Output ``.nii`` or ``.nii.gz`` path.
        like: The input volume whose header fields should be carried over.
        dtype: On-disk data type (float32 by default).
        description: Header description (``descrip``, at most 79 ASCII characters kept)
            instead of the one of ``like``.
        slope_inter: ``(scl_slope, scl_inter)`` written with integer ``data`` of type
            ``dtype``: the stored values are ``data`` and readers see
            ``data * slope + inter``. ``None``: no scaling.

    Returns:
        The output path.

    Raises:
        InputError: Non-NIfTI output name, missing output folder, or an output equal to the
            input of ``like``.
        ValueError: ``data`` not 3-D or non-finite, ``affine`` not (4, 4).
    """
    import nibabel as nib

    out = Path(path)
    if not _lower_name(out).endswith(NIFTI_SUFFIXES):
        raise InputError(f"output must end in .nii or .nii.gz, got {out.name}")
    if like is not None and like.path is not None and out.exists():
        if Path(like.path).resolve() == out.resolve():
            raise InputError(f"output path is the input itself: {out}")
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise ValueError(f"data must be 3-D, got shape {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("data contains NaN or infinite values")
    aff = np.asarray(affine, dtype=np.float64)
    if aff.shape != (4, 4):
        raise ValueError(f"affine must be (4, 4), got {aff.shape}")
    header = _header_like(like)
    img = nib.Nifti1Image(arr.astype(dtype, copy=False), aff, header=header)
    qcode, scode = 1, 1
    if like is not None and isinstance(like.header, nib.Nifti1Header):
        qcode = int(like.header["qform_code"]) or 0
        scode = int(like.header["sform_code"]) or 0
        if qcode == 0 and scode == 0:
            qcode, scode = 1, 1
    img.set_qform(aff, code=qcode)
    img.set_sform(aff, code=scode)
    img.set_data_dtype(dtype)
    if header is None:
        img.header.set_xyzt_units("mm")
    if slope_inter is not None:
        img.header.set_slope_inter(*slope_inter)
    if description is not None:
        img.header["descrip"] = description.encode("ascii", "replace")[:79]
    with atomic_path(out) as tmp:
        nib.save(img, str(tmp))
    return out
