"""Intensity normalisation (SPEC sec. 2): each volume scaled to [0, 1] by its 99.9th percentile."""

from __future__ import annotations

import numpy as np

__all__ = ["percentile_scale", "unscale"]


def percentile_scale(data: np.ndarray, q: float = 99.9) -> tuple[np.ndarray, float]:
    """Divide by the ``q``-th percentile of the voxels and clip to [0, 1].

    Negative values (interpolation undershoot, z-scored inputs) are clipped to 0.

    Args:
        data: Any array of intensities.
        q: Percentile in (0, 100].

    Returns:
        ``(scaled, factor)`` with ``scaled = clip(data / factor, 0, 1)`` (float32) and
        ``factor`` the percentile, so ``scaled * factor`` maps back to input units.

    Raises:
        ValueError: For an out-of-range ``q``, non-finite data, or a percentile <= 0 (an
            all-zero or all-negative image cannot be scaled).
    """
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    arr = np.asarray(data, dtype=np.float32)
    if arr.size == 0:
        raise ValueError("cannot scale an empty array")
    if not np.all(np.isfinite(arr)):
        raise ValueError("data contains NaN or infinite values")
    factor = float(np.percentile(arr, q))
    if factor <= 0:
        raise ValueError(f"the {q}th percentile is {factor}; the image has no positive signal")
    return np.clip(arr / np.float32(factor), 0.0, 1.0).astype(np.float32), factor


def unscale(scaled: np.ndarray, factor: float) -> np.ndarray:
    """Map [0, 1] intensities back to input units (inverse of :func:`percentile_scale` below q)."""
    return (np.asarray(scaled, dtype=np.float32) * np.float32(factor)).astype(np.float32)
