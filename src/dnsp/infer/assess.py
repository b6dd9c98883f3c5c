"""What ``dnsp upscale`` assumed about the input's acquisition, and whether its output agrees.

For every volume, :func:`assess_upscale` names the acquisition model of the LR input, given
by the user (``--acquisition``) or estimated from the image (the volume's one estimate,
:func:`dnsp.acquisition.estimate_volume` on up to :data:`N_ESTIMATE` central slices of the
upscaled plane, made by the volume pipeline and passed in), and re-acquires the output with
that model (noise left out) to measure its consistency with the input
(:func:`dnsp.infer.consistency.consistency_psnr`). A low value flags an output that does not
explain its input: hallucinated detail, or a wrong guess of the acquisition. It also measures
the texture the output invents beyond the input's band over flat tissue, against bicubic
interpolation's (:func:`texture_vs_bicubic`, issue 28: on the :data:`TEXTURE_SLICES` middle
slices of the plane, so that it stays cheap).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dnsp.acquisition import (
    N_ESTIMATE,
    Acquisition,
    AcquisitionEstimate,
    default_acquisition,
    estimate_volume,
)
from dnsp.data.orientation import to_axial_stack
from dnsp.infer.consistency import consistency_psnr
from dnsp.metrics import flat_tissue_mask, invented_texture
from dnsp.ops import bicubic_upscale

__all__ = ["N_ESTIMATE", "TEXTURE_SLICES", "UpscaleReport", "assess_upscale",
           "assumed_acquisition", "texture_vs_bicubic"]

#: Middle slices of the upscaled plane on which the per-file report measures invented texture.
TEXTURE_SLICES = 8


@dataclass(frozen=True)
class UpscaleReport:
    """The per-file outcome of ``dnsp upscale``.

    Attributes:
        path: The output written.
        acquisition: The (noise-free) acquisition model assumed for the input.
        how: ``"given"``, ``"estimated"`` or ``"unknown: read as a scan at its own resolution"``
            (the estimate is unsure, :attr:`dnsp.acquisition.AcquisitionEstimate.confident`:
            the scan is read as a k-space acquisition at its own resolution,
            :attr:`~dnsp.acquisition.AcquisitionEstimate.assumed`, for the consistency check
            as for the robust default's network).
        noise: Estimated noise level (fraction of the 99.9th percentile) or ``None``.
        consistency_db: PSNR of the re-acquired output against the input (``inf``: exact).
        texture: The output's invented texture beyond the input's band relative to bicubic
            interpolation's (:func:`texture_vs_bicubic`), or ``None`` if not measurable.
    """

    path: Path
    acquisition: Acquisition
    how: str
    noise: float | None
    consistency_db: float
    texture: float | None = None

    def describe(self) -> str:
        """``kspace x2 (estimated, noise ~1.2%)``."""
        extra = [self.how]
        if self.noise is not None:
            extra.append(f"noise ~{100 * self.noise:.1f}%" if self.noise > 0
                         else "noise not measurable")
        return f"{self.acquisition.describe()} ({', '.join(extra)})"

    def line(self) -> str:
        """The per-file line: acquisition assumed and consistency."""
        texture = ("" if self.texture is None else
                   f"; texture beyond the input's band {self.texture:.1f}x bicubic's")
        return (f"input acquisition {self.describe()}; output re-acquired vs input "
                f"{self.consistency_db:.1f} dB{texture}")


def assumed_acquisition(
    data: np.ndarray, affine: np.ndarray, scale: int, factor: float,
    given: Acquisition | None = None, estimate: AcquisitionEstimate | None = None,
) -> tuple[Acquisition, str, float | None]:
    """``(model, "given" | "estimated", noise level or None)`` for an LR volume.

    Args:
        data: The LR volume in its units.
        affine: Its affine (the axial stack is found from it).
        scale: The upscaling factor.
        factor: Intensity scale (the 99.9th percentile) dividing the data to [0, 1].
        given: The user's model, returned as is.
        estimate: The volume's estimate if already made (else it is made here, once).
    """
    if given is not None:
        return given, "given", None
    if estimate is None:
        stack = to_axial_stack(np.asarray(data, dtype=np.float32), affine) / np.float32(factor)
        estimate = estimate_volume(stack, scale)
    if estimate is None:  # slices too small to measure: the default model
        return default_acquisition(scale), "estimated", None
    how = "estimated" if estimate.confident else "unknown: read as a scan at its own resolution"
    return estimate.assumed, how, estimate.noise


def assess_upscale(
    path: Path, lr: np.ndarray, lr_affine: np.ndarray, hr: np.ndarray, hr_affine: np.ndarray,
    scale: int, factor: float, given: Acquisition | None = None,
    estimate: AcquisitionEstimate | None = None,
) -> UpscaleReport:
    """The :class:`UpscaleReport` of one upscaled volume (see the module docstring)."""
    acq, how, noise = assumed_acquisition(lr, lr_affine, scale, factor, given, estimate)
    try:
        db = consistency_psnr(lr, lr_affine, hr, hr_affine, scale, acq)
    except ValueError:  # e.g. a k-space model on an input whose matrix the scale does not fit
        db = float("nan")
    texture = texture_vs_bicubic(to_axial_stack(np.asarray(lr, np.float32), lr_affine),
                                 to_axial_stack(np.asarray(hr, np.float32), hr_affine), scale)
    return UpscaleReport(path, acq, how, noise, db, texture)


def texture_vs_bicubic(lr: np.ndarray, hr: np.ndarray, scale: int,
                       n: int = TEXTURE_SLICES) -> float | None:
    """Invented texture of an upscaling relative to bicubic interpolation's.

    ``invented_texture(lr, hr) / invented_texture(lr, bicubic(lr))``
    (:func:`dnsp.metrics.invented_texture`: the RMS beyond the input's band over flat tissue,
    relative to the input's fine-scale fluctuation) on the ``n`` middle slices. The flat
    tissue is the dominant one (``flat_tissue_mask(tissue="dominant")``: white matter of a
    T1, the normal-appearing tissue of a FLAIR, whose brightest tissue is a lesion), or the
    brightest where that class is too thin to survive the erosion (e.g. at 2 mm).

    Args:
        lr: The input's slices ``(N, h, w)`` in the upscaled plane.
        hr: The output's ``(N, h * scale, w * scale)``.
        scale: The in-plane factor.
        n: Middle slices measured.

    Returns:
        The ratio (1: as much as bicubic adds), or ``None`` when it cannot be measured (no
        flat tissue, no fluctuation, slices of another shape).
    """
    if lr.ndim != 3 or hr.shape != (lr.shape[0], lr.shape[1] * scale, lr.shape[2] * scale):
        return None
    start = max(0, (lr.shape[0] - n) // 2)  # the middle slices of the plane
    x = np.ascontiguousarray(lr[start:start + n], dtype=np.float32)
    y = np.ascontiguousarray(hr[start:start + n], dtype=np.float32)
    try:
        mask = flat_tissue_mask(x, tissue="dominant")
        if not mask.any():
            mask = flat_tissue_mask(x)
        ref = invented_texture(x, bicubic_upscale(torch.from_numpy(x), scale).numpy(), scale,
                               mask)
        out = invented_texture(x, y, scale, mask)
    except ValueError:
        return None
    return out.score / ref.score if ref.score > 0 else None
