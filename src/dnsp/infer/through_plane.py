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

:func:`through_plane_file` runs a request of ``dnsp upscale --through-plane``
(:class:`dnsp.infer.request.UpscaleRequest`, checked by the command line): with a scale the
in-plane axes are first upscaled by the request's method, then the slice axis goes to the
new in-plane spacing (an isotropic volume); the output type (``--dtype``) and the QC picture
(``--qc``) are those of every ``dnsp upscale`` output.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnsp.acquisition.slices import SliceAcquisition
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import Volume, load_volume, save_volume
from dnsp.data.orientation import axial_axes
from dnsp.data.volume import voxel_sizes
from dnsp.errors import InputError
from dnsp.infer.outputs import cast_output, output_type, stored_parts
from dnsp.infer.qc import qc_figure
from dnsp.infer.request import DEFAULT_PROFILE, DEFAULT_TIME_BUDGET, UpscaleRequest
from dnsp.infer.volume import upscale_volume
from dnsp.methods.through_plane import AdaptReport, ThroughPlaneSR
from dnsp.metrics.image import psnr
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
    "ThroughPlaneReport",
    "ThroughPlaneResult",
    "bspline_through_plane",
    "check_in_plane_step",
    "choose_thickness",
    "reacquisition_psnr",
    "slice_geometry",
    "through_plane_file",
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
    spacings = voxel_sizes(affine)
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
    peak = float(np.max(thick) - np.min(thick)) or 1.0
    return psnr(np.reshape(back, (-1, back.shape[-1])), np.reshape(thick, (-1, thick.shape[-1])),
                data_range=peak)


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


def check_in_plane_step(affine: np.ndarray, shape: tuple[int, ...]) -> int:
    """The thick axis of a volume whose in-plane axes ``--scale`` upscales first.

    Raises:
        InputError: No thick axis (:func:`slice_geometry`), or a thick axis that is not the
            axial slice axis (the in-plane step upscales the axial plane).
    """
    axis = slice_geometry(affine, shape)[0]
    if axial_axes(affine)[2] != axis:
        raise InputError("--scale with --through-plane needs an axial slice axis (the "
                         "in-plane step upscales the axial plane)")
    return axis


@dataclass(frozen=True)
class ThroughPlaneReport:
    """The outcome of :func:`through_plane_file`.

    Attributes:
        path: The output written.
        result: The restored volume's :class:`ThroughPlaneResult` (data dropped).
        thickness_from: A key of :data:`THICKNESS_SOURCES`.
        profile_given: Whether the profile was given.
        scale: The in-plane factor applied first, if any.
        output: ``(stored type, clipped voxels, integer type?, QC picture or None)``, as
            :func:`dnsp.infer.outputs.stored_parts` words them.
    """

    path: Path
    result: ThroughPlaneResult
    thickness_from: str
    profile_given: bool
    scale: int | None
    output: tuple[str, int, bool, Path | None]

    def line(self) -> str:
        """The per-file line: in-plane step, ratio, profile, time, consistency, type, QC."""
        head = (("" if self.scale is None else f"x{self.scale} in-plane, ")
                + describe(self.result, self.thickness_from, self.profile_given))
        return "; ".join([head, *stored_parts(*self.output)])


def through_plane_file(request: UpscaleRequest) -> ThroughPlaneReport:
    """Run a ``dnsp upscale --through-plane`` request (one file or DICOM series folder).

    With ``request.scale`` the in-plane axes are first upscaled by ``request.method``; the
    slice axis then goes to the new in-plane spacing unless a target spacing is given. The
    output is written as ``request.dtype`` (``same``: the input's type and scaling) and the
    QC picture, when asked for, compares input and output. Nothing is written on error.
    """
    opts = request.through_plane
    if opts is None:
        raise ValueError("the request has no through-plane options")
    vol: Volume = load_volume(request.inp)
    data, affine = vol.data, vol.affine
    axis = slice_geometry(affine, data.shape)[0]  # refuse before any in-plane work
    if request.scale is not None and request.method is not None:
        check_in_plane_step(affine, data.shape)
        data, affine = upscale_volume(data, affine, request.method, request.scale)
    thickness, thickness_from = choose_thickness(opts.thickness, vol.meta, axis)
    result = through_plane_volume(
        data, affine, target_spacing=opts.target_spacing, thickness=thickness,
        profile=opts.profile, time_budget=opts.time_budget, threads=opts.threads)
    kind = output_type(request.dtype, vol)
    values, clipped = cast_output(result.data, kind)
    save_volume(values, result.affine, request.out, like=vol, dtype=kind.dtype,
                slope_inter=(kind.slope, kind.inter) if kind.is_integer else None)
    if request.qc is not None:
        qc_figure(vol.data, vol.affine, result.data, result.affine, request.qc,
                  title=f"{request.inp.name}: through-plane "
                  f"{result.spacing:.3g} -> {result.target:.3g} mm")
    result.data = np.empty((0, 0, 0), np.float32)  # the report keeps the numbers only
    return ThroughPlaneReport(request.out, result, thickness_from, opts.profile is not None,
                              request.scale,
                              (kind.describe(), clipped, kind.is_integer, request.qc))
