"""Low-matrix acquisition: centre-aligned truncation of the in-plane spectrum to 1/s.

A scanner that acquires a smaller matrix keeps the centre of k-space: a sharp band limit with
Gibbs ringing (:func:`dnsp.ops.kspace.kspace_downsample`), often apodised by the vendor's
filter (Hamming, Hann, Tukey, Fermi), reconstructed as a magnitude image (Rician noise, the
``noise`` option). Unlike the paper's model, the sides must be multiples of the scale (the
matrix is what the scanner acquired): :meth:`simulate` still crops like every model, and
:func:`dnsp.data.degradation.degrade_volume` refuses a volume whose in-plane matrix the scale
does not divide.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from dnsp.acquisition.base import Acquisition, register_acquisition
from dnsp.ops.kspace import WINDOWS, kspace_downsample, kspace_truncate_axis, kspace_window

__all__ = ["KSpaceAcquisition"]


@register_acquisition
class KSpaceAcquisition(Acquisition):
    """Keep the central 1/s of k-space along both in-plane axes, optionally apodised.

    Args:
        scale: Integer factor s >= 1 (1 applies only the window and noise).
        window: ``none`` (default), ``hamming``, ``hann``, ``tukey`` or ``fermi``.
        window_param: Tukey alpha or Fermi width (``None``: the window's default).
        noise: Rician noise level (fraction of the HR input's 99.9th percentile).
        input: Network input mode (``"bicubic"`` or ``"zerofill"``).
    """

    name = "kspace"
    exact_matrix = True

    def __init__(self, scale: int = 2, window: str = "none", window_param: float | None = None,
                 *, noise: float = 0.0, input: str = "bicubic", noise_corr: float = 0.0,
                 clean_background: bool = False) -> None:
        super().__init__(scale, noise=noise, input=input, noise_corr=noise_corr,
                         clean_background=clean_background)
        if window not in WINDOWS:
            raise ValueError(f"unknown k-space window {window!r}; valid windows: "
                             f"{', '.join(WINDOWS)}")
        kspace_window(4, window, window_param)  # validates the parameter
        self.window = window
        self.window_param = None if window_param is None else float(window_param)

    def _acquire(self, hr: Tensor) -> Tensor:
        return kspace_downsample(hr, self.scale, self.window, self.window_param)

    def _axis_matrix(self, n: int) -> Tensor:
        # row j of the result is the 1-D model applied to the unit impulse e_j
        eye = torch.eye(n, dtype=torch.float64)
        return kspace_truncate_axis(eye, self.scale, -1, self.window,
                                    self.window_param).T.contiguous()

    def _params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.window != "none":
            out["window"] = self.window
        if self.window_param is not None:
            out["window_param"] = self.window_param
        return out
