"""Bicubic interpolation baseline (Keys a = -0.5, centre-aligned; SPEC section 4)."""

from __future__ import annotations

import numpy as np
import torch

from dnsp.methods.base import check_lr_stack, register_method
from dnsp.ops import bicubic_upscale

__all__ = ["Bicubic", "bicubic_stack"]


def bicubic_stack(lr: np.ndarray, scale: int) -> np.ndarray:
    """Keys bicubic (a = -0.5, ``align_corners=False``) upscaling of every slice, unclipped.

    Args:
        lr: (N, h, w) stack (float32 after validation).
        scale: Integer factor >= 2.

    Returns:
        (N, h*scale, w*scale) float32; values may overshoot [0, 1] slightly (no clipping).
    """
    arr, s = check_lr_stack(lr, scale)
    with torch.no_grad():
        out = bicubic_upscale(torch.from_numpy(arr).to(torch.float64), s)
    return out.numpy().astype(np.float32)


@register_method("bicubic")
class Bicubic:
    """The bicubic baseline: the input to every network and the reference of every gain.

    Args:
        clip: Clip the output to [0, 1], the intensity range of SPEC section 2 (default True;
            the same clipping is applied by LRTV and SRSW so that gains compare like with like).
    """

    name = "bicubic"
    whole_stack = False

    def __init__(self, clip: bool = True) -> None:
        self.clip = bool(clip)

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale (N, h, w) -> (N, h*scale, w*scale) float32 (see :class:`SRMethod`)."""
        out = bicubic_stack(lr, scale)
        return np.clip(out, 0.0, 1.0) if self.clip else out

    def __repr__(self) -> str:
        return f"Bicubic(clip={self.clip})"
