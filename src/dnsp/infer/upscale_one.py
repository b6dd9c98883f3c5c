"""One volume file in, one output written: checks before any work, plane, intensity map,
assessment, NIfTI (``--dtype``) or DICOM output, QC picture (:func:`upscale_file`).

:func:`upscale_file` checks its output (:func:`check_file_output`) and runs
:func:`upscale_checked`; a request of ``dnsp upscale`` (:mod:`dnsp.infer.request`), whose
output was checked when it was built, runs :func:`upscale_checked` directly. Each volume is
estimated once (:func:`dnsp.infer.volume.plane_estimate`): the method and the report get the
same estimate. The pipeline is described in :mod:`dnsp.infer.upscale`, which re-exports
these names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dnsp.acquisition import Acquisition, AcquisitionEstimate
from dnsp.data.io import (
    IMAGE_SUFFIXES,
    NIFTI_SUFFIXES,
    Volume,
    is_dicom_file,
    load_volume,
    save_volume,
)
from dnsp.data.orientation import PlaneChoice, to_plane_stack
from dnsp.data.volume import voxel_sizes
from dnsp.errors import InputError
from dnsp.fsutil import ensure_distinct
from dnsp.infer.assess import UpscaleReport, assess_upscale
from dnsp.infer.dicom_out import dicom_template, write_dicom_series
from dnsp.infer.outputs import (
    OutputType,
    cast_output,
    check_output_folder,
    expected_output_bytes,
    output_type,
    stored_parts,
)
from dnsp.infer.qc import qc_figure
from dnsp.infer.volume import intensity_map, plane_estimate, resolve_plane, upscale_volume
from dnsp.methods import SRMethod, has_capability
from dnsp.ops import upscale_affine

__all__ = ["FileReport", "check_file_output", "check_free_space", "served_by",
           "upscale_checked", "upscale_file"]


@dataclass(frozen=True)
class FileReport(UpscaleReport):
    """The per-file outcome of ``dnsp upscale``: :class:`UpscaleReport` plus the plane, the
    stored type, the clipped voxels and the QC picture.

    Attributes:
        plane: The plane upscaled, and why.
        served: The network that served this volume and why, when the method picks one
            per volume (:func:`served_by`; "" otherwise).
        stored: The output's stored type (``float32``, ``int16 (scl_slope ...)``, DICOM).
        clipped: Voxels clipped to the range of an integer output type.
        integer: Whether the output type is an integer one (clipping reported).
        qc: The QC PNG written, if any.
    """

    plane: PlaneChoice | None = None
    served: str = ""
    stored: str = "float32"
    clipped: int = 0
    integer: bool = False
    qc: Path | None = None

    def line(self) -> str:
        """The per-file line: plane and why, acquisition and consistency, type, clipping."""
        parts = []
        if self.plane is not None:
            parts.append(f"plane {self.plane.plane} ({self.plane.reason})")
        parts.append(super().line())
        return "; ".join(parts + stored_parts(self.stored, self.clipped, self.integer, self.qc))


def served_by(method: SRMethod) -> str:
    """``"dnsp-edsr-ks-x2 (unknown: read as k-space ..., noise gate 2, flat gate 0.04)"``:
    the network a per-volume method chose for a volume and why ("" when nothing was
    chosen)."""
    why = str(getattr(method, "served", "") or "")
    if not why:
        return ""
    gates = str(getattr(method, "gates", "") or "")
    return f"{method.name} ({why}{f', {gates}' if gates else ''})"


def _nifti_shape(path: Path) -> tuple[int, ...] | None:
    """Shape from a volume file's header only (``None`` for DICOM or unreadable headers)."""
    if path.is_dir() or not path.name.lower().endswith(IMAGE_SUFFIXES):
        return None
    try:
        import nibabel as nib

        return tuple(int(n) for n in nib.load(str(path)).shape[:3])
    except Exception:  # unreadable headers are reported by load_volume, with the reason
        return None


def check_free_space(inp: Path, out: Path, scale: int, fmt: str,
                     shape: tuple[int, ...] | None = None) -> None:
    """Refuse an output folder without the free space of the expected output (float32 size,
    from the input's header or ``shape``; nothing is checked when neither is known)."""
    shape = shape if shape is not None else _nifti_shape(inp)
    need = 0 if shape is None else expected_output_bytes(
        shape, scale, 4 if fmt == "nifti" else 2,
        compressed=out.name.lower().endswith(".gz"))
    check_output_folder(out.parent if str(out.parent) else Path("."), need)


def check_file_output(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    scale: int,
    *,
    fmt: str = "nifti",
    qc: str | os.PathLike[str] | None = None,
    overwrite: bool = True,
) -> None:
    """Refuse, before any work, an output that cannot be written (one-line InputError).

    Checks the output name (``.nii``/``.nii.gz``, or a new or empty folder for
    ``fmt="dicom"``, whose input must be a DICOM series), that the output is not the input,
    that it does not exist unless ``overwrite`` (the rule of ``dnsp upscale``: an existing
    output is refused without ``--overwrite``), and that the output folder (and the QC
    picture's) exists, can be written in, and has the free space of the expected output
    (float32 size, from the header).

    ``scale`` (for the expected size) is not checked here: the command line parses it once
    (:func:`dnsp.cli._request.parse_scale`) and the volume pipeline refuses a bad one.

    Raises:
        InputError: One line naming what is wrong.
    """
    src, dst = Path(inp), Path(out)
    if fmt == "dicom":
        if not (src.is_dir() or is_dicom_file(src)):
            raise InputError(f"DICOM output needs a DICOM series as input, got {src}")
        if dst.name.lower().endswith(NIFTI_SUFFIXES):
            raise InputError(f"DICOM output is a folder, not a NIfTI name: {dst}")
        if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
            raise InputError(f"DICOM output folder exists and is not empty: {dst}")
    elif fmt != "nifti":
        raise InputError(f"unknown output format {fmt!r}; use nifti or dicom")
    else:
        if not dst.name.lower().endswith(NIFTI_SUFFIXES):
            raise InputError(f"output must be a NIfTI file ending in .nii or .nii.gz: {dst}")
        if dst.is_dir():
            raise InputError(f"output is an existing folder, expected a .nii/.nii.gz file: "
                             f"{dst}")
    if not src.exists():
        raise InputError(f"input does not exist: {src}")
    ensure_distinct(src, dst)
    if not overwrite and dst.exists():
        raise InputError(f"output exists: {dst} (use --overwrite to replace it)")
    check_free_space(src, dst, scale, fmt)
    if qc is not None:
        qc_path = Path(qc)
        if qc_path.suffix.lower() != ".png":
            raise InputError(f"--qc must name a .png file: {qc_path}")
        check_output_folder(qc_path.parent if str(qc_path.parent) else Path("."))


def _progress_bar(total: int, desc: str, enabled: bool | None):  # type: ignore[no-untyped-def]
    return tqdm(total=total, desc=desc, unit="slice", disable=(None if enabled is None
                                                               else not enabled),
                leave=False, file=sys.stderr, dynamic_ncols=True)


def _plane_view(data: np.ndarray, affine: np.ndarray, axes: tuple[int, int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """The volume as if its plane were axial: (columns, rows, slices) with a diagonal affine.

    The assessment (:mod:`dnsp.infer.assess`) works in the axial plane; on this view its
    axial plane is the upscaled one, whatever the volume's orientation.
    """
    sizes = voxel_sizes(affine)
    row, col, sl = axes
    return (np.transpose(to_plane_stack(data, axes), (2, 1, 0)),
            np.diag([sizes[col], sizes[row], sizes[sl], 1.0]))


def _assess(dst: Path, vol: Volume, hr: np.ndarray, choice: PlaneChoice, scale: int,
            intensity: tuple[float, float], acquisition: Acquisition | None,
            estimate: AcquisitionEstimate | None) -> UpscaleReport:
    """:func:`assess_upscale` in the upscaled plane, on data shifted by the offset."""
    offset, factor = intensity
    lr_v, lr_aff = _plane_view(vol.data, vol.affine, choice.axes)
    hr_v, _ = _plane_view(hr, vol.affine, choice.axes)
    if offset != 0.0:  # the acquisition is estimated on [0, 1]-scaled data, as in training
        lr_v, hr_v = lr_v - np.float32(offset), hr_v - np.float32(offset)
    return assess_upscale(dst, lr_v, lr_aff, hr_v, upscale_affine(lr_aff, scale, (1, 0)),
                          scale, factor, acquisition, estimate)


def upscale_file(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    method: SRMethod,
    scale: int,
    *,
    progress: bool | None = None,
    acquisition: Acquisition | None = None,
    report: Callable[[FileReport], None] | None = None,
    plane: str = "auto",
    dtype: str = "float32",
    fmt: str = "nifti",
    qc: str | os.PathLike[str] | None = None,
) -> Path:
    """Upscale one volume (file or DICOM folder) and write it atomically (NIfTI or DICOM).

    The plane (:func:`dnsp.data.orientation.choose_plane`), the acquisition of the input
    (``acquisition``, or estimated from the image) and the consistency of the output with it
    (:mod:`dnsp.infer.assess`) go into the output header's description and to ``report``.

    Args:
        inp: NIfTI/Analyze/MINC file or a DICOM series folder.
        out: Output path ending in ``.nii`` or ``.nii.gz`` (its folder must exist), or for
            ``fmt="dicom"`` the series folder to create.
        method: The SR method (see :func:`dnsp.methods.build_method`).
        scale: Integer factor >= 2.
        progress: Show a slice progress bar on stderr (``None``: only on a terminal).
        acquisition: The input's acquisition model, if known (``None``: estimated).
        report: Called with the :class:`FileReport` of the file.
        plane: ``auto`` (acquisition plane), ``axial``, ``coronal`` or ``sagittal``.
        dtype: Output type of a NIfTI output (:data:`dnsp.infer.outputs.OUTPUT_DTYPES`).
        fmt: ``nifti`` or ``dicom`` (a derived series; the input must be a DICOM series).
        qc: Write the before/after picture (:func:`dnsp.infer.qc.qc_figure`) to this PNG.

    Returns:
        The output path.

    Raises:
        InputError: Bad input or output (missing, corrupt, not 3-D, NaN voxels, output equal
            to the input, unwritable folder, too little space). No partial output is left.
    """
    src, dst = Path(inp), Path(out)
    check_file_output(src, dst, scale, fmt=fmt, qc=qc)
    return upscale_checked(src, dst, method, scale, progress=progress,
                           acquisition=acquisition, report=report, plane=plane, dtype=dtype,
                           fmt=fmt, qc=qc)


def upscale_checked(
    src: Path,
    dst: Path,
    method: SRMethod,
    scale: int,
    *,
    progress: bool | None = None,
    acquisition: Acquisition | None = None,
    report: Callable[[FileReport], None] | None = None,
    plane: str | PlaneChoice = "auto",
    dtype: str = "float32",
    fmt: str = "nifti",
    qc: str | os.PathLike[str] | None = None,
) -> Path:
    """:func:`upscale_file` of an output already checked (:func:`check_file_output`).

    Only the free space, which needs the volume's shape, is checked after reading. The
    arguments are those of :func:`upscale_file`; ``plane`` may be a decided
    :class:`~dnsp.data.orientation.PlaneChoice`.
    """
    vol = load_volume(src)
    check_free_space(src, dst, scale, fmt, vol.shape)
    kind = output_type(dtype, vol) if fmt == "nifti" else OutputType(np.dtype(np.int16))
    choice = resolve_plane(vol.affine, plane)
    intensity = intensity_map(vol.data)
    estimate = (plane_estimate(vol.data, choice, intensity, scale)
                if acquisition is None or has_capability(method, "per_volume") else None)
    if has_capability(method, "per_volume"):  # e.g. the robust default picks its network
        method = method.for_volume(estimate=estimate)
    bar = _progress_bar(vol.data.shape[choice.axes[2]], src.name, progress)
    try:
        hr, hr_affine = upscale_volume(vol.data, vol.affine, method, scale, plane=choice,
                                       intensity=intensity, estimate=estimate,
                                       progress=bar.update)
    finally:
        bar.close()
    assessed = _assess(dst, vol, hr, choice, scale, intensity, acquisition, estimate)
    name = getattr(method, "name", "dnsp")
    text = (f"dnsp x{scale} {name}; in: {assessed.acquisition.describe()} "
            f"({assessed.how}); {choice.plane}")
    if fmt == "dicom":
        clipped = write_dicom_series(hr, hr_affine, dst,
                                     dicom_template(src if src.is_dir() else src.parent),
                                     description=f"dnsp x{scale}", derivation=text)
        stored = "DICOM int16"
    else:
        values, clipped = cast_output(hr, kind)
        save_volume(values, hr_affine, dst, like=vol, dtype=kind.dtype, description=text,
                    slope_inter=(kind.slope, kind.inter) if kind.is_integer else None)
        stored = kind.describe()
    if qc is not None:
        qc_figure(vol.data, vol.affine, hr, hr_affine, qc,
                  title=f"{src.name}: x{scale} {name}, {choice.plane} plane")
    result = FileReport(**{k: getattr(assessed, k) for k in
                           ("path", "acquisition", "how", "noise", "consistency_db",
                            "texture")},
                        plane=choice, stored=stored, clipped=clipped,
                        integer=fmt == "dicom" or kind.is_integer,
                        qc=None if qc is None else Path(qc), served=served_by(method))
    if report is not None:
        report(result)
    return dst
