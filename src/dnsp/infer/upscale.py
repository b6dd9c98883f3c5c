"""User-facing volume upscaling: file or folder in, NIfTI out on the HR grid of SPEC section 4.

Pipeline of :func:`upscale_volume` (one volume):

1. intensities are divided by the volume's 99.9th percentile (SPEC section 2,
   :func:`dnsp.data.intensity.percentile_scale`), *without* clipping, so every intensity comes
   back after the inverse scaling (negative values and values above the percentile included);
2. the volume is viewed as a stack of axial slices (the two voxel axes closest to R-L and A-P,
   found from the affine; :mod:`dnsp.data.orientation`, a transposition without copy);
3. the SR method upscales the stack in batches of consecutive slices, written straight into
   the preallocated HR stack (memory: input + output + one batch);
4. the result is multiplied back to input units, viewed in the input's voxel order and given
   the affine of SPEC section 4 (:func:`dnsp.ops.upscale_affine`: HR voxel j sits at LR
   coordinate (j + 0.5)/s - 0.5 along both in-plane axes; the slice axis is unchanged).

Documented edge cases: a constant volume (including a 1-voxel volume and an all-zero one)
gives the same constant on the HR grid; a volume whose 99.9th percentile is not positive
(mostly negative values) is scaled by its largest absolute value instead. NaN or infinite
voxels are rejected with a one-line error by :func:`dnsp.data.io.load_volume` (no guessed
values are written). Outputs are float32 NIfTI written atomically; inputs are never
overwritten.

Folder mode (:func:`upscale_folder`) mirrors the input tree: every readable image file and
every DICOM series folder becomes ``<same relative path>.nii.gz`` (BIDS names are kept);
outputs that already exist are skipped (they are complete, being written atomically).
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
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import IMAGE_SUFFIXES, image_stem, is_dicom_file, load_volume, save_volume
from dnsp.data.orientation import axial_axes, from_axial_stack, to_axial_stack
from dnsp.errors import InputError
from dnsp.fsutil import ensure_distinct
from dnsp.infer.assess import UpscaleReport, assess_upscale
from dnsp.methods import SRMethod, check_scale, has_capability
from dnsp.ops import upscale_affine

__all__ = [
    "IMAGE_SUFFIXES",
    "FolderResult",
    "axial_slice_axis",
    "find_inputs",
    "output_name",
    "upscale_file",
    "upscale_folder",
    "upscale_volume",
]

_OUT_SUFFIXES = (".nii", ".nii.gz")
_SLICE_BATCH = 16


def _check_scale(scale: int) -> int:
    try:
        return check_scale(scale)
    except ValueError:
        raise InputError(f"--scale must be an integer >= 2, got {scale!r}") from None


def _intensity_factor(data: np.ndarray) -> float:
    """Scale factor of SPEC sec. 2 (99.9th percentile), with a fallback for odd volumes."""
    try:
        return float(percentile_scale(data)[1])
    except ValueError:
        peak = float(np.max(np.abs(data)))
        return peak if peak > 0 else 1.0


def upscale_volume(
    data: np.ndarray,
    affine: np.ndarray,
    method: SRMethod,
    scale: int,
    *,
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Upscale a 3-D volume in its axial plane (SPEC section 4) with ``method``.

    Args:
        data: Volume (X, Y, Z) in the file's voxel order and units.
        affine: Its (4, 4) voxel-to-world matrix.
        method: Any :class:`~dnsp.methods.SRMethod`.
        scale: Integer factor >= 2 applied to both in-plane axes.
        batch: Consecutive slices per call of ``method`` (``None``: 16, or the whole stack for
            a method that declares ``whole_stack`` (LRTV, SRSW: regularisers across slices).
        progress: Called with the number of slices finished after each batch.

    Returns:
        ``(hr, hr_affine)``: float32 volume in the input's voxel order and intensity units,
        in-plane axes ``scale`` times longer, and its affine.

    Raises:
        InputError: For a volume that is not 3-D or not finite, or a bad scale.
    """
    s = _check_scale(scale)
    arr = np.asarray(data)
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise InputError(f"expected a non-empty 3-D volume, got shape {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise InputError("the volume contains NaN or infinite voxels")
    row, col, _ = axial_axes(affine)
    hr_affine = upscale_affine(affine, s, (row, col))
    stack = to_axial_stack(arr, affine)
    n, h, w = stack.shape
    out = np.empty((n, h * s, w * s), dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:  # constant volume: its interpolation by any method is the constant
        out.fill(np.float32(lo))
        if progress is not None:
            progress(n)
        return from_axial_stack(out, hr_affine), hr_affine
    factor = np.float32(_intensity_factor(arr))
    if batch is None:
        batch = n if has_capability(method, "whole_stack") else _SLICE_BATCH
    for start in range(0, n, max(1, int(batch))):
        stop = min(start + max(1, int(batch)), n)
        lr = np.ascontiguousarray(stack[start:stop], dtype=np.float32) / factor
        sr = method.upscale_stack(lr, s)
        if sr.shape != (stop - start, h * s, w * s):
            raise RuntimeError(f"method {method.name!r} returned shape {sr.shape}")
        np.multiply(sr, factor, out=out[start:stop], casting="unsafe")
        if progress is not None:
            progress(stop - start)
    return from_axial_stack(out, hr_affine), hr_affine


def _check_output_name(out: Path) -> None:
    if not out.name.lower().endswith(_OUT_SUFFIXES):
        raise InputError(f"output must be a NIfTI file ending in .nii or .nii.gz: {out}")


def _check_writable_folder(folder: Path) -> None:
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"output folder path is not a folder: {probe}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"output folder is not writable: {probe}")


def _progress_bar(total: int, desc: str, enabled: bool | None):  # type: ignore[no-untyped-def]
    return tqdm(total=total, desc=desc, unit="slice", disable=(None if enabled is None
                                                               else not enabled),
                leave=False, file=sys.stderr, dynamic_ncols=True)


def upscale_file(
    inp: str | os.PathLike[str],
    out: str | os.PathLike[str],
    method: SRMethod,
    scale: int,
    *,
    progress: bool | None = None,
    acquisition: Acquisition | None = None,
    report: Callable[[UpscaleReport], None] | None = None,
) -> Path:
    """Upscale one volume (file or DICOM folder) and write it atomically as NIfTI.

    The acquisition of the input (``acquisition``, or estimated from the image) and the
    consistency of the output with it (:mod:`dnsp.infer.assess`) go into the output header's
    description and to ``report``.

    Args:
        inp: NIfTI/Analyze/MINC file or a DICOM series folder.
        out: Output path ending in ``.nii`` or ``.nii.gz`` (its folder must exist).
        method: The SR method (see :func:`dnsp.methods.build_method`).
        scale: Integer factor >= 2.
        progress: Show a slice progress bar on stderr (``None``: only on a terminal).
        acquisition: The input's acquisition model, if known (``None``: estimated).
        report: Called with the :class:`~dnsp.infer.assess.UpscaleReport` of the file.

    Returns:
        The output path.

    Raises:
        InputError: Bad input or output (missing, corrupt, not 3-D, NaN voxels, output equal
            to the input, unwritable folder). No partial output file is left behind.
    """
    src, dst = Path(inp), Path(out)
    _check_scale(scale)
    _check_output_name(dst)
    if not src.exists():
        raise InputError(f"input does not exist: {src}")
    ensure_distinct(src, dst)
    if dst.is_dir():
        raise InputError(f"output is an existing folder, expected a .nii/.nii.gz file: {dst}")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder does not exist: {parent}")
    _check_writable_folder(parent)
    vol = load_volume(src)
    bar = _progress_bar(vol.data.shape[axial_slice_axis(vol.affine)], src.name, progress)
    try:
        hr, hr_affine = upscale_volume(vol.data, vol.affine, method, scale,
                                       progress=bar.update)
    finally:
        bar.close()
    assessed = assess_upscale(dst, vol.data, vol.affine, hr, hr_affine, scale,
                              _intensity_factor(vol.data), acquisition)
    name = getattr(method, "name", "dnsp")
    save_volume(hr, hr_affine, dst, like=vol,
                description=f"dnsp x{scale} {name}; in: {assessed.acquisition.describe()} "
                            f"({assessed.how})")
    if report is not None:
        report(assessed)
    return dst


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
            says the acquisition assumed and the consistency, :mod:`dnsp.infer.assess`).
        acquisition: The inputs' acquisition model, if known (``None``: estimated per file).

    Returns:
        A :class:`FolderResult`. One failing file does not stop the others.

    Raises:
        InputError: Missing input folder, output equal to the input, unwritable output
            folder, or no volume found.
    """
    src, dst = Path(inp), Path(out)
    _check_scale(scale)
    if not src.is_dir():
        raise InputError(f"input folder does not exist: {src}")
    ensure_distinct(src, dst)
    if dst.exists() and not dst.is_dir():
        raise InputError(f"output must be a folder when the input is a folder: {dst}")
    _check_writable_folder(dst)
    items = find_inputs(src, exclude=dst)
    if not items:
        raise InputError(f"no image files or DICOM series found under {src}")
    say = log or (lambda _line: None)
    result = FolderResult()
    bar = tqdm(items, desc="volumes", unit="vol", file=sys.stderr,
               disable=None if progress is None else not progress, dynamic_ncols=True)
    for path, rel in bar:
        target = dst / rel
        if target.exists() and not overwrite:
            result.skipped.append(target)
            say(f"skipped (exists): {target}")
            continue
        created: list[Path] = []
        folder = target.parent
        while not folder.exists():
            created.append(folder)
            folder = folder.parent
        reports: list[UpscaleReport] = []
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            upscale_file(path, target, method, scale, progress=False, acquisition=acquisition,
                         report=reports.append)
        except InputError as exc:
            for made in created:  # leave nothing behind for a failed file
                if made.is_dir() and not any(made.iterdir()):
                    made.rmdir()
            result.failed.append((path, str(exc)))
            say(f"failed: {path}: {exc}")
            continue
        result.written.append(target)
        say(f"written: {target}" + (f" ({reports[0].line()})" if reports else ""))
    return result
