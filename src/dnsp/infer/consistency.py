"""Data consistency of a super-resolved volume: does it degrade back to its input?

An SR output ``hr`` of an input ``lr`` is *consistent* with an acquisition model
(:mod:`dnsp.acquisition`; by default the paper's of SPEC section 4, Gaussian blur sigma =
s/2 and s x s block mean in the axial plane) when re-acquiring it
(:func:`dnsp.data.degradation.degrade_volume`, noise left out) gives ``lr`` back. The figure
reported is the PSNR of that re-degraded volume against the input, over the input's value
range (max - min). It needs no ground truth, so it can be computed for every output of a
cohort; it measures agreement with the assumed acquisition, not image quality: a blurry
output that degrades to the input scores as well as a sharp one. The true HR image of a
simulated pair scores ``inf`` (exact round trip); bicubic of a degraded image scores in the
30s on a smooth head; an output with shuffled voxels scores near 0 to 10 dB.
"""

from __future__ import annotations

import numpy as np

from dnsp.acquisition import Acquisition, acquisition_from_config
from dnsp.data.degradation import degrade_volume
from dnsp.metrics.image import psnr

__all__ = ["consistency_psnr"]


def consistency_psnr(
    lr_data: np.ndarray,
    lr_affine: np.ndarray,
    hr_data: np.ndarray,
    hr_affine: np.ndarray,
    scale: int,
    acquisition: Acquisition | None = None,
) -> float:
    """PSNR (dB) of the re-degraded output against the input, over the input's value range.

    Args:
        lr_data: The input volume (X, Y, Z) in its voxel order and units.
        lr_affine: Its (4, 4) voxel-to-world matrix.
        hr_data: The SR output on the HR grid of SPEC section 4 (in-plane axes ``scale``
            times longer), same units.
        hr_affine: Its (4, 4) matrix.
        scale: The integer factor of the output (>= 2).
        acquisition: The acquisition model to re-acquire with (its noise is left out);
            ``None``: the paper's ``gaussian``.

    Returns:
        ``10 log10(range^2 / MSE)`` with ``range = max(lr) - min(lr)`` (the largest absolute
        value for a constant input, 1 for an all-zero one); ``inf`` when the round trip is
        exact.

    Raises:
        ValueError: If the re-degraded output does not have the input's shape or affine
            (the output is not on the HR grid of this input), or values are not finite.
    """
    lr = np.asarray(lr_data, dtype=np.float64)
    hr = np.asarray(hr_data, dtype=np.float64)
    if lr.ndim != 3 or hr.ndim != 3:
        raise ValueError(f"expected 3-D volumes, got shapes {lr.shape} and {hr.shape}")
    if not (np.all(np.isfinite(lr)) and np.all(np.isfinite(hr))):
        raise ValueError("volumes must be finite")
    acq = None
    if acquisition is not None:
        cfg = {k: v for k, v in acquisition.to_config().items() if k != "noise"}
        acq = acquisition_from_config(cfg)
    back, back_affine = degrade_volume(hr, np.asarray(hr_affine, dtype=np.float64), scale, acq)
    if back.shape != lr.shape:
        raise ValueError(f"the output degraded by x{scale} has shape {back.shape}, "
                         f"not the input's {lr.shape}")
    if not np.allclose(back_affine, lr_affine, atol=1e-4 * max(1.0, float(np.abs(
            np.asarray(lr_affine)).max()))):
        raise ValueError(f"the output degraded by x{scale} is not on the input's voxel grid")
    peak = float(lr.max() - lr.min())
    if peak <= 0.0:
        peak = float(np.abs(lr).max()) or 1.0
    return psnr(np.reshape(back, (-1, back.shape[-1])), np.reshape(lr, (-1, lr.shape[-1])),
                data_range=peak)
