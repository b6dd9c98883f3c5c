"""Zero-filled (sinc) interpolation: the scanner's own way to enlarge a matrix.

The LR spectrum is placed in the centre of an ``s``-times larger one, centre-aligned on the
grid of SPEC section 4 (:func:`dnsp.ops.kspace.zero_fill_upscale`). On an image acquired by
k-space truncation it is the exact band-limited interpolant; it is the second reference (with
bicubic) of the realistic-acquisition benchmark (docs/acquisition.md).
"""

from __future__ import annotations

import numpy as np
import torch

from dnsp.methods.base import check_lr_stack, register_method
from dnsp.ops.kspace import zero_fill_upscale

__all__ = ["ZeroFill"]


@register_method("zerofill")
class ZeroFill:
    """Zero-filled interpolation of every slice.

    Args:
        clip: Clip the output to [0, 1] (default True, as :class:`~dnsp.methods.bicubic.
            Bicubic`); the interpolant rings around sharp edges.
    """

    name = "zerofill"
    whole_stack = False

    def __init__(self, clip: bool = True) -> None:
        self.clip = bool(clip)

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale (N, h, w) -> (N, h*scale, w*scale) float32 (see :class:`SRMethod`)."""
        arr, s = check_lr_stack(lr, scale)
        out = zero_fill_upscale(torch.from_numpy(arr).to(torch.float64), s).numpy()
        out = out.astype(np.float32)
        return np.clip(out, 0.0, 1.0) if self.clip else out
