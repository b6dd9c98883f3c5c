"""User-facing volume upscaling: file or folder in, NIfTI (or DICOM) out on the HR grid.

Pipeline of :func:`upscale_volume` (one volume):

1. the plane is chosen (:func:`dnsp.data.orientation.choose_plane`): by default the
   acquisition plane of SPEC section 4 (the two voxel axes whose spacings are most nearly
   equal, then the finer such pair, then anatomy: axial first), or the anatomical plane
   forced by the caller (``--plane``); the volume is viewed as a stack of its slices (a
   transposition);
2. intensities are mapped by ``u = (x - offset) / factor`` with ``offset`` the volume's
   minimum and ``factor`` the 99.9th percentile of ``x - offset`` (SPEC section 2;
   :func:`intensity_map`), *without* clipping. Both statistics transform with the data
   (``offset(a x + b) = a offset(x) + b``, ``factor(a x + b) = a factor(x)`` for a > 0), so
   ``u`` and the method's output on it do not change under a positive affine map of the
   input: the pipeline is exactly equivariant, ``upscale(a x + b) = a upscale(x) + b`` up to
   float rounding, whatever the sign and offset of the data (z-scored, signed, shifted maps).
   For the usual non-negative scan with a zero background the offset is 0 and nothing
   changes from the SPEC's scaling;
3. the SR method upscales the stack in batches of consecutive slices, written straight into
   the preallocated HR stack (memory: input + output + one batch);
4. the result is mapped back (``x = u * factor + offset``), viewed in the input's voxel order
   and given the affine of SPEC section 4 (:func:`dnsp.ops.upscale_affine`: HR voxel j sits at
   LR coordinate (j + 0.5)/s - 0.5 along both in-plane axes; the slice axis is unchanged).

Documented edge cases: a constant volume (including a 1-voxel volume and an all-zero one)
gives the same constant on the HR grid; a volume whose 99.9th percentile of ``x - offset`` is
0 (almost all voxels at the minimum) is scaled by its range instead. NaN or infinite voxels
are rejected with a one-line error by :func:`dnsp.data.io.load_volume` (no guessed values are
written). Outputs are written atomically, after the output folder was checked
(:mod:`dnsp.infer.outputs`), as float32 NIfTI or the type asked for; inputs are never
overwritten. A DICOM series input can be written as a derived DICOM series
(:mod:`dnsp.infer.dicom_out`).

Folder mode (:func:`upscale_folder`) mirrors the input tree: every readable image file and
every DICOM series folder becomes ``<same relative path>.nii.gz`` (BIDS names are kept; with
``fmt="dicom"`` a DICOM series becomes a series folder ``<same relative path>``); outputs that
already exist are skipped (they are complete, being written atomically), so a rerun resumes;
``overwrite`` redoes them. That is the one overwrite rule of ``dnsp upscale`` seen from a
folder: an existing output is never replaced without ``--overwrite`` (a single output that
exists is refused, :func:`dnsp.infer.upscale_one.check_file_output`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dnsp.acquisition import Acquisition
from dnsp.data.io import IMAGE_SUFFIXES, image_stem, is_dicom_file
from dnsp.data.orientation import axial_axes
from dnsp.errors import InputError
from dnsp.fsutil import ensure_distinct
from dnsp.infer.outputs import check_output_folder
from dnsp.infer.upscale_one import FileReport, check_file_output, upscale_file
from dnsp.infer.volume import intensity_map, upscale_volume
from dnsp.methods import SRMethod
from dnsp.ops import check_scale

__all__ = [
    "IMAGE_SUFFIXES",
    "FileReport",
    "FolderResult",
    "axial_slice_axis",
    "check_file_output",
    "check_folder_output",
    "find_inputs",
    "intensity_map",
    "output_name",
    "upscale_file",
    "upscale_folder",
    "upscale_volume",
]

def axial_slice_axis(affine: np.ndarray) -> int:
    """Voxel axis that indexes axial slices (closest to S-I)."""
    return axial_axes(affine)[2]


def output_name(rel: Path) -> Path:
    """Mirrored output path (relative) of an input file or DICOM folder path (relative)."""
    stem = image_stem(rel.name)
    return rel.with_name((stem if stem is not None else rel.name) + ".nii.gz")


def find_inputs(
    root: str | os.PathLike[str], exclude: str | os.PathLike[str] | None = None
) -> list[tuple[Path, Path]]:
    """Volumes under ``root``: ``(input path, mirrored relative output path)``, sorted.

    Image files (NIfTI, Analyze ``.hdr``, MINC) are volumes; a folder holding DICOM files is
    one series. Hidden files and folders, and ``exclude`` (the output folder when it lies
    inside the input folder), are skipped.
    """
    base = Path(root)
    skip = Path(exclude).resolve() if exclude is not None else None
    found: list[tuple[Path, Path]] = []
    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and (skip is None or (here / d).resolve() != skip))
        files = sorted(f for f in filenames if not f.startswith("."))
        images = [f for f in files if image_stem(f) is not None]
        for f in images:
            rel = (here / f).relative_to(base)
            found.append((here / f, output_name(rel)))
        if not images and any(is_dicom_file(here / f) for f in files):
            rel = here.relative_to(base)
            name = Path(base.resolve().name) if rel == Path(".") else rel
            found.append((here, name.with_name(name.name + ".nii.gz")))
    return sorted(found, key=lambda item: str(item[1]))


@dataclass
class FolderResult:
    """Outcome of :func:`upscale_folder`: output paths written, skipped, and failures."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def _existing_ancestor(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe


def check_folder_output(out: str | os.PathLike[str], qc: str | os.PathLike[str] | None = None
                        ) -> None:
    """Refuse, before any work, an output (or QC) folder that cannot be created or written.

    The folder may not exist yet; its nearest existing ancestor must be a folder in which a
    file can be created (:func:`dnsp.infer.outputs.check_output_folder`).
    """
    for folder in (Path(out), None if qc is None else Path(qc)):
        if folder is None:
            continue
        if folder.exists() and not folder.is_dir():
            raise InputError(f"output must be a folder when the input is a folder: {folder}")
        probe = _existing_ancestor(folder)
        if not probe.is_dir():
            raise InputError(f"output folder path is not a folder: {probe}")
        check_output_folder(probe)


def _qc_name(rel: Path) -> Path:
    stem = image_stem(rel.name)
    return rel.with_name((stem if stem is not None else rel.name) + ".png")


def upscale_folder(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    method: SRMethod,
    scale: int,
    *,
    overwrite: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    acquisition: Acquisition | None = None,
    plane: str = "auto",
    dtype: str = "float32",
    fmt: str = "nifti",
    qc: str | os.PathLike[str] | None = None,
    checked: bool = False,
) -> FolderResult:
    """Upscale every volume under ``inp`` into the mirrored tree under ``out``.

    Args:
        inp: Input folder (any layout, BIDS included).
        out: Output folder (created if needed; must not be ``inp``).
        method: The SR method.
        scale: Integer factor >= 2.
        overwrite: Redo outputs that exist (default: skip them as finished).
        progress: Show a progress bar over files (``None``: only on a terminal).
        log: Called with one line per file (written / skipped / failed; a written file's line
            is :meth:`FileReport.line`: plane, acquisition, consistency, type).
        acquisition: The inputs' acquisition model, if known (``None``: estimated per file).
        plane: The plane of every volume (``auto``: each one's acquisition plane).
        dtype: Output type (:data:`dnsp.infer.outputs.OUTPUT_DTYPES`).
        fmt: ``nifti``, or ``dicom``: DICOM series become derived series folders (other
            volumes are written as NIfTI).
        qc: Folder for one QC PNG per volume (mirrored names ending in ``.png``).
        checked: The scale, the folders and the output were checked already (a request
            of :mod:`dnsp.infer.request`): not again.

    Returns:
        A :class:`FolderResult`. One failing file does not stop the others.

    Raises:
        InputError: Missing input folder, output equal to the input, unwritable output
            folder, or no volume found.
    """
    src, dst = Path(inp), Path(out)
    if not checked:
        check_scale(scale, 2)
        if not src.is_dir():
            raise InputError(f"input folder does not exist: {src}")
        ensure_distinct(src, dst)
        check_folder_output(dst, qc)
    items = find_inputs(src, exclude=dst)
    if not items:
        raise InputError(f"no image files or DICOM series found under {src}")
    say = log or (lambda _line: None)
    result = FolderResult()
    bar = tqdm(items, desc="volumes", unit="vol", file=sys.stderr,
               disable=None if progress is None else not progress, dynamic_ncols=True)
    for path, rel in bar:
        series = fmt == "dicom" and (path.is_dir() or is_dicom_file(path))
        target = dst / (rel.with_name(image_stem(rel.name) or rel.name) if series else rel)
        if target.exists() and not overwrite:
            result.skipped.append(target)
            say(f"skipped (exists): {target}")
            continue
        created: list[Path] = []
        for base in (target.parent, None if qc is None else (Path(qc) / rel).parent):
            folder = base
            while folder is not None and not folder.exists():
                created.append(folder)
                folder = folder.parent
        reports: list[FileReport] = []
        try:
            for made in reversed(created):
                made.mkdir(exist_ok=True)
            upscale_file(path, target, method, scale, progress=False, acquisition=acquisition,
                         report=reports.append, plane=plane, dtype=dtype,
                         fmt="dicom" if series else "nifti",
                         qc=None if qc is None else Path(qc) / _qc_name(rel))
        except InputError as exc:
            for made in created:  # leave nothing behind for a failed file
                if made.is_dir() and not any(made.iterdir()):
                    made.rmdir()
            result.failed.append((path, str(exc)))
            say(f"failed: {path}: {exc}")
            continue
        result.written.append(target)
        served = f"with {reports[0].served}; " if reports and reports[0].served else ""
        say(f"written: {target}" + (f" ({served}{reports[0].line()})" if reports else ""))
    return result
