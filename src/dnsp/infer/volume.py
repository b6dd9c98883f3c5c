"""One volume upscaled in one plane, exactly equivariant to positive affine intensity maps.

See :mod:`dnsp.infer.upscale` for the pipeline (plane, intensity map, batches, geometry).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dnsp.acquisition import AcquisitionEstimate, estimate_volume
from dnsp.data.intensity import percentile_scale
from dnsp.data.orientation import PlaneChoice, choose_plane, from_plane_stack, to_plane_stack
from dnsp.errors import InputError
from dnsp.methods import SRMethod, has_capability
from dnsp.ops import check_scale, upscale_affine

__all__ = ["intensity_map", "plane_estimate", "resolve_plane", "upscale_volume"]

_SLICE_BATCH = 16


def _intensity_factor(data: np.ndarray) -> float:
    """Scale factor of SPEC sec. 2 (99.9th percentile), with a fallback for odd volumes."""
    try:
        return float(percentile_scale(data)[1])
    except ValueError:
        peak = float(np.max(np.abs(data)))
        return peak if peak > 0 else 1.0


def intensity_map(data: np.ndarray) -> tuple[float, float]:
    """``(offset, factor)`` of the volume's intensity map ``u = (x - offset) / factor``.

    ``offset`` is the minimum and ``factor`` the 99.9th percentile of ``x - offset`` (its
    range when that percentile is 0; 1 for a constant volume), as a float32 value. Both
    transform with a positive affine map of ``x`` (see the module docstring).
    """
    arr = np.asarray(data, dtype=np.float32)
    offset = float(arr.min())
    shifted = arr if offset == 0.0 else arr - np.float32(offset)
    return offset, float(np.float32(_intensity_factor(shifted)))


def resolve_plane(affine: np.ndarray, plane: str | PlaneChoice) -> PlaneChoice:
    """The :class:`PlaneChoice` of ``plane`` (a choice is returned as is); InputError if bad."""
    if isinstance(plane, PlaneChoice):
        return plane
    try:
        return choose_plane(affine, plane)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def plane_estimate(data: np.ndarray, choice: PlaneChoice, intensity: tuple[float, float],
                   scale: int) -> AcquisitionEstimate | None:
    """The volume's one acquisition estimate, on its slices in the upscaled plane mapped to
    [0, 1] by ``intensity`` (:func:`dnsp.acquisition.estimate_volume`)."""
    offset, factor = intensity
    stack = to_plane_stack(np.asarray(data), choice.axes)
    return estimate_volume(((stack - offset) / factor).astype(np.float32), scale)


def upscale_volume(
    data: np.ndarray,
    affine: np.ndarray,
    method: SRMethod,
    scale: int,
    *,
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
    plane: str | PlaneChoice = "auto",
    intensity: tuple[float, float] | None = None,
    estimate: AcquisitionEstimate | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Upscale a 3-D volume in one plane (SPEC section 4) with ``method``.

    Args:
        data: Volume (X, Y, Z) in the file's voxel order and units.
        affine: Its (4, 4) voxel-to-world matrix.
        method: Any :class:`~dnsp.methods.SRMethod`.
        scale: Integer factor >= 2 applied to both in-plane axes.
        batch: Consecutive slices per call of ``method`` (``None``: 16, or the whole stack for
            a method that declares ``whole_stack`` (LRTV, SRSW: regularisers across slices).
        progress: Called with the number of slices finished after each batch.
        plane: ``"auto"`` (the acquisition plane), ``"axial"``, ``"coronal"``,
            ``"sagittal"``, or a :class:`~dnsp.data.orientation.PlaneChoice`.
        intensity: ``(offset, factor)`` of :func:`intensity_map` if already computed.
        estimate: The volume's acquisition estimate (:func:`plane_estimate`) if already
            made; a ``per_volume`` method gets it (estimated here once otherwise).

    Returns:
        ``(hr, hr_affine)``: float32 volume in the input's voxel order and intensity units,
        in-plane axes ``scale`` times longer, and its affine.

    Raises:
        InputError: For a volume that is not 3-D or not finite, or a bad plane.
        ValueError: For a scale that is not an integer >= 2.
    """
    s = check_scale(scale, 2)
    arr = np.asarray(data)
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise InputError(f"expected a non-empty 3-D volume, got shape {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise InputError("the volume contains NaN or infinite voxels")
    choice = resolve_plane(affine, plane)
    axes = choice.axes
    hr_affine = upscale_affine(affine, s, axes[:2])
    stack = to_plane_stack(arr, axes)
    n, h, w = stack.shape
    out = np.empty((n, h * s, w * s), dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:  # constant volume: its interpolation by any method is the constant
        out.fill(np.float32(lo))
        if progress is not None:
            progress(n)
        return from_plane_stack(out, axes), hr_affine
    offset, factor = intensity if intensity is not None else intensity_map(arr)
    if batch is None:
        batch = n if has_capability(method, "whole_stack") else _SLICE_BATCH
    if has_capability(method, "per_volume"):  # one decision for the whole volume
        if estimate is None:
            estimate = plane_estimate(arr, choice, (offset, factor), s)
        method = method.for_volume(estimate=estimate)
    for start in range(0, n, max(1, int(batch))):
        stop = min(start + max(1, int(batch)), n)
        # float64 arithmetic, rounded once: bit-identical to x / factor when offset is 0
        lr = ((stack[start:stop].astype(np.float64) - offset) / factor).astype(np.float32)
        sr = method.upscale_stack(lr, s)
        if sr.shape != (stop - start, h * s, w * s):
            raise RuntimeError(f"method {method.name!r} returned shape {sr.shape}")
        back = sr.astype(np.float64) * factor
        out[start:stop] = back + offset if offset != 0.0 else back
        if progress is not None:
            progress(stop - start)
    return from_plane_stack(out, axes), hr_affine
