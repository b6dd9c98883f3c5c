"""Through-plane SR of a thick-slice volume: ``dnsp upscale IN OUT --through-plane``.

:func:`through_plane_volume` (one volume in memory):

1. the thick axis is the voxel axis with the largest spacing (column norms of the affine);
   refused with one :class:`~dnsp.errors.InputError` line: a 2-D image, fewer than 3 slices,
   a near-isotropic volume (largest spacing < :data:`MIN_ANISOTROPY` x the in-plane one), a
   target spacing not finer than the slices, a slice thickness finer than the target grid,
   an unknown profile;
2. the slice model (:class:`~dnsp.acquisition.slices.SliceAcquisition`): spacing from the
   header, thickness = spacing unless given (gaps: a thinner slice), ``rect``, ``gaussian`` or
   a profile file;
3. the network (:class:`~dnsp.methods.through_plane.ThroughPlaneSR`) is adapted to the
   volume's own in-plane slices for ``time_budget`` seconds, then restores the slice axis to
   the in-plane spacing; a different ``target_spacing`` is reached by cubic B-spline of that
   output (so the network always works on the grid its training pairs have);
4. the geometry is that of :mod:`dnsp.ops.slice_profile`: the output's field of view shares
   its centre with the input's, ``n = ceil(m * spacing / target)`` voxels, and
   ``new_affine = affine @ T`` (T scales the slice axis by ``target / spacing`` and shifts it);
5. the data-consistency figure: the output re-acquired with the slice model against the
   input (PSNR over the input's range, :func:`reacquisition_psnr`); the network's output is
   projected onto the consistent set, so the figure of the network before that projection
   is reported beside it (``network_consistency``).

CLI glue: :func:`add_through_plane_arguments` (in the light module
:mod:`dnsp.infer.through_plane_args`, re-exported here) and :func:`run_through_plane` (for
``dnsp upscale``; ``--scale`` first upscales in-plane, then the slice axis goes to the new
in-plane spacing: an isotropic volume).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnsp.acquisition.slices import SliceAcquisition
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume, save_volume
from dnsp.data.orientation import axial_axes
from dnsp.errors import InputError
from dnsp.fsutil import ensure_distinct
from dnsp.infer.through_plane_args import (
    DEFAULT_PROFILE,
    DEFAULT_TIME_BUDGET,
    add_through_plane_arguments,
)
from dnsp.infer.upscale import upscale_volume
from dnsp.methods import MODEL_PREFIX, build_method
from dnsp.methods.network import auto_threads
from dnsp.methods.through_plane import AdaptReport, ThroughPlaneSR
from dnsp.ops.slice_profile import (
    PROFILES,
    bspline_matrix,
    fine_affine,
    fine_count,
    fine_positions,
    resample_axis,
)

__all__ = [
    "DEFAULT_PROFILE",
    "DEFAULT_TIME_BUDGET",
    "MIN_ANISOTROPY",
    "THICKNESS_SOURCES",
    "ThroughPlaneResult",
    "add_through_plane_arguments",
    "bspline_through_plane",
    "choose_thickness",
    "reacquisition_psnr",
    "run_through_plane",
    "slice_geometry",
    "through_plane_volume",
]

#: Largest / in-plane spacing below which a volume counts as near-isotropic (refused).
MIN_ANISOTROPY = 1.25
_AXIS_NAMES = ("i", "j", "k")


@dataclass
class ThroughPlaneResult:
    """The restored volume and what was assumed and measured."""

    data: np.ndarray
    affine: np.ndarray
    axis: int
    spacing: float
    thickness: float
    profile: str
    in_plane: float
    target: float
    consistency: float = float("nan")
    network_consistency: float = float("nan")
    adapt: AdaptReport = field(default_factory=AdaptReport)
    seconds: float = 0.0

    @property
    def ratio(self) -> float:
        """Slice spacing / target spacing."""
        return self.spacing / self.target


def slice_geometry(affine: np.ndarray, shape: tuple[int, ...]) -> tuple[int, float, float]:
    """``(thick axis, its spacing, finest in-plane spacing)`` of a volume, validated.

    Raises:
        InputError: A 2-D image, fewer than 3 slices, or a near-isotropic volume.
    """
    if len(shape) != 3 or min(shape) <= 1:
        raise InputError(f"through-plane SR needs a 3-D volume, got a 2-D image "
                         f"(shape {tuple(shape)})")
    spacings = np.linalg.norm(np.asarray(affine, np.float64)[:3, :3], axis=0)
    axis = int(np.argmax(spacings))
    in_plane = float(min(spacings[a] for a in range(3) if a != axis))
    if shape[axis] < 3:
        raise InputError(f"through-plane SR needs at least 3 slices along the thick axis, got "
                         f"{shape[axis]}")
    if spacings[axis] < MIN_ANISOTROPY * max(spacings[a] for a in range(3) if a != axis):
        raise InputError(
            f"the volume is near-isotropic ({' x '.join(f'{s:.3g}' for s in spacings)} mm): no "
            f"thick axis to restore (needs >= {MIN_ANISOTROPY:g} x the in-plane spacing)")
    return axis, float(spacings[axis]), in_plane


def _acquisition(spacing: float, thickness: float | None, profile: str | Path | None,
                 fine: float) -> SliceAcquisition:
    thick = spacing if thickness is None else float(thickness)
    if not (math.isfinite(thick) and thick > 0):
        raise InputError(f"--slice-thickness must be > 0 mm, got {thickness}")
    if thick < fine:
        raise InputError(f"--slice-thickness {thick:g} mm is finer than the target grid "
                         f"({fine:g} mm): nothing to restore")
    name = DEFAULT_PROFILE if profile is None else str(profile)
    if name not in PROFILES and not Path(name).is_file():
        raise InputError(f"unknown --profile {name!r}: use {', '.join(PROFILES)} or a "
                         f"profile file")
    try:
        return SliceAcquisition(thick, spacing, name, fine_spacing=fine, axis=-1)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def bspline_through_plane(data: np.ndarray, affine: np.ndarray, target: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Cubic B-spline along the thick axis to ``target`` mm (default: in-plane), same grid
    rule as :func:`through_plane_volume` (the baseline of benchmarks/through_plane.py)."""
    axis, spacing, in_plane = slice_geometry(affine, data.shape)
    ratio = spacing / (in_plane if target is None else float(target))
    m = data.shape[axis]
    mat = bspline_matrix(m, fine_positions(m, ratio))
    return resample_axis(data, mat, axis), fine_affine(affine, axis, m, ratio)


def reacquisition_psnr(thick: np.ndarray, fine: np.ndarray, acq: SliceAcquisition) -> float:
    """PSNR (dB) of ``fine`` ``(..., n)`` re-acquired along its last axis against ``thick``
    ``(..., m)``, over the range of ``thick`` (``inf`` when exact)."""
    back = resample_axis(fine, acq.axis_matrix(fine.shape[-1]), -1)
    if back.shape != thick.shape:
        raise ValueError(f"re-acquired shape {back.shape} differs from the input's "
                         f"{thick.shape}")
    mse = float(np.mean((back.astype(np.float64) - thick) ** 2))
    peak = float(np.max(thick) - np.min(thick)) or 1.0
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def through_plane_volume(
    data: np.ndarray,
    affine: np.ndarray,
    *,
    target_spacing: float | None = None,
    thickness: float | None = None,
    profile: str | Path | None = None,
    method: ThroughPlaneSR | None = None,
    time_budget: float = DEFAULT_TIME_BUDGET,
    threads: int | None = None,
) -> ThroughPlaneResult:
    """Restore the thick axis of ``data`` (see the module docstring).

    Args:
        data: Volume (X, Y, Z), any voxel order and units.
        affine: Its (4, 4) voxel-to-world matrix.
        target_spacing: Output spacing along the thick axis, mm (default: the finest
            in-plane spacing).
        thickness: Slice thickness, mm (default: the slice spacing).
        profile: ``rect`` (default), ``gaussian`` or a profile file.
        method: The network method (default: the shipped model, ``time_budget``, ``threads``).
        time_budget: Adaptation seconds when ``method`` is not given.
        threads: Torch threads when ``method`` is not given.

    Returns:
        A :class:`ThroughPlaneResult` (float32 data in the input's voxel order and units).

    Raises:
        InputError: See the module docstring (one line each).
    """
    start = time.perf_counter()
    arr = np.asarray(data, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise InputError("the volume contains NaN or infinite voxels")
    axis, spacing, in_plane = slice_geometry(affine, arr.shape)
    target = in_plane if target_spacing is None else float(target_spacing)
    if not (math.isfinite(target) and 0 < target < spacing):
        raise InputError(f"--target-spacing must be > 0 and finer than the slice spacing "
                         f"{spacing:g} mm, got {target_spacing}")
    acq = _acquisition(spacing, thickness, profile, in_plane)
    if not time_budget >= 0:
        raise InputError(f"--time-budget must be >= 0 seconds, got {time_budget}")
    sr = method or ThroughPlaneSR(time_budget=time_budget, threads=threads)
    thick = np.moveaxis(arr, axis, -1)
    m = thick.shape[-1]
    try:
        factor = float(percentile_scale(arr)[1])
    except ValueError:
        factor = float(np.max(np.abs(arr))) or 1.0
    fine = sr.restore(thick / np.float32(factor), acq)
    ratio_t = spacing / target
    n_t = fine_count(m, ratio_t)
    if abs(target - in_plane) > 1e-6 * in_plane:  # the network's grid -> the target grid
        n = fine.shape[-1]
        pos = (fine_positions(m, ratio_t) - (m - 1) / 2.0) * acq.ratio + (n - 1) / 2.0
        fine = resample_axis(fine, bspline_matrix(n, pos), -1)
    fine *= np.float32(factor)
    out_acq = SliceAcquisition(acq.thickness, spacing, acq.profile, fine_spacing=target)
    return ThroughPlaneResult(
        data=np.moveaxis(fine, -1, axis), affine=fine_affine(affine, axis, m, ratio_t, n_t),
        axis=axis, spacing=spacing, thickness=acq.thickness, profile=acq.profile,
        in_plane=in_plane, target=target, consistency=reacquisition_psnr(thick, fine, out_acq),
        network_consistency=getattr(sr, "raw_consistency", float("nan")), adapt=sr.report,
        seconds=time.perf_counter() - start)


#: How the slice thickness of a run was chosen -> the words of the per-file line.
THICKNESS_SOURCES = {"given": "given", "header": "from the DICOM header",
                     "assumed": "= slice spacing, assumed"}


def choose_thickness(given: float | None, meta: Mapping[str, object], axis: int
                     ) -> tuple[float | None, str]:
    """``(thickness, source)`` of a run: the given one, else a DICOM series' SliceThickness
    (``meta["slice_thickness"]``, which is along the series' slice axis, voxel axis 2) when
    the thick ``axis`` is that axis, else ``None`` (= the slice spacing); ``source`` is a key
    of :data:`THICKNESS_SOURCES`."""
    if given is not None:
        return given, "given"
    header = meta.get("slice_thickness")
    if isinstance(header, (int, float)) and header > 0 and axis == 2:
        return float(header), "header"
    return None, "assumed"


def describe(result: ThroughPlaneResult, thickness_from: str, profile_given: bool) -> str:
    """The per-file line: ratio, profile assumed and how it was chosen, time, consistency.

    ``thickness_from`` is a key of :data:`THICKNESS_SOURCES`.
    """
    how_t = THICKNESS_SOURCES[thickness_from]
    how_p = "given" if profile_given else "default"
    return (f"through-plane: axis {_AXIS_NAMES[result.axis]} {result.spacing:.3g} mm -> "
            f"{result.target:.3g} mm (ratio {result.ratio:.3g}), {result.profile} profile "
            f"({how_p}), thickness {result.thickness:.3g} mm ({how_t}); adaptation "
            f"{result.adapt.steps} steps, {result.seconds:.0f} s in all; re-acquired output vs "
            f"input {result.consistency:.1f} dB (network before projection "
            f"{result.network_consistency:.1f} dB)")


def run_through_plane(args: argparse.Namespace) -> int:
    """``dnsp upscale IN OUT --through-plane [...]`` (one file or DICOM series folder).

    With ``args.scale`` the in-plane axes are first upscaled by the in-plane method of
    ``args`` (``--model``/``--method``, :func:`dnsp.methods.build_method`); the slice axis
    then goes to the new in-plane spacing unless ``--target-spacing`` says otherwise.
    Nothing is written on error.
    """
    if args.input is None or args.output is None:
        raise InputError("give IN and OUT (see dnsp upscale --help)")
    inp, out = Path(args.input), Path(args.output)
    if not out.name.lower().endswith((".nii", ".nii.gz")):
        raise InputError(f"output must be a NIfTI file ending in .nii or .nii.gz: {out}")
    if not inp.exists():
        raise InputError(f"input does not exist: {inp}")
    ensure_distinct(inp, out)
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError(f"output folder does not exist: {out.parent}")
    threads = getattr(args, "threads", None)
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    threads = auto_threads() if threads is None else threads
    vol = load_volume(inp)
    data, affine = vol.data, vol.affine
    axis = slice_geometry(affine, data.shape)[0]  # refuse before any in-plane work
    scale = getattr(args, "scale", None)
    if scale is not None:
        if scale < 2:
            raise InputError(f"--scale must be an integer >= 2, got {scale}")
        if axial_axes(affine)[2] != axis:
            raise InputError("--scale with --through-plane needs an axial slice axis (the "
                             "in-plane step upscales the axial plane)")
        model = getattr(args, "model", None)
        spec = getattr(args, "method", None) or (MODEL_PREFIX + model if model else None)
        method = build_method(spec, scale, device=getattr(args, "device", "cpu"),
                              threads=threads, max_pixels=getattr(args, "tile_pixels", None),
                              ensemble=getattr(args, "ensemble", None))
        data, affine = upscale_volume(data, affine, method, scale)
    thickness, thickness_from = choose_thickness(args.slice_thickness, vol.meta, axis)
    result = through_plane_volume(
        data, affine, target_spacing=args.target_spacing, thickness=thickness,
        profile=args.profile, time_budget=args.time_budget, threads=threads)
    save_volume(result.data, result.affine, out, like=vol)
    if getattr(args, "progress", None) is not False:
        print(f"{out}: " + ("" if scale is None else f"x{scale} in-plane, ")
              + describe(result, thickness_from, args.profile is not None))
    return 0
