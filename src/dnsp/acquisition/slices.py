"""Thick-slice (2-D multi-slice) acquisition along one axis: slice profile, thickness, spacing.

Unlike the in-plane models, this one acts on ONE axis (the slice axis, ``axis``) of a stack
or volume: slice ``k`` is the fine image weighted by the slice profile centred on the slice,
and slices are ``spacing`` apart (gaps when ``thickness < spacing``). Thickness and spacing
are in mm, as is ``fine_spacing`` (the HR grid along that axis), so the ratio
``spacing / fine_spacing`` may be non-integer. The grid rule (SPEC section 4 extended to one
axis and non-integer ratios: fine and thick fields of view share their centre) and the
profiles are those of :mod:`dnsp.ops.slice_profile`; docs/through_plane.md states them.

``scale`` is 1 (nothing changes in-plane); :meth:`SliceAcquisition.operator` is the model on
``(H, W)`` images whose slice axis is ``-2`` or ``-1`` (identity on the other axis).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dnsp.acquisition.base import Acquisition, SeparableOperator, register_acquisition
from dnsp.ops.slice_profile import (
    PROFILES,
    bspline_matrix,
    fine_affine,
    fine_count,
    fine_positions,
    profile_matrix,
    read_profile,
    thick_affine,
    thick_count,
)

__all__ = ["SliceAcquisition"]


@lru_cache(maxsize=32)
def _matrix(n: int, ratio: float, width: float, profile: str,
            samples: tuple[tuple[float, ...], tuple[float, ...]] | None) -> np.ndarray:
    smp = None if samples is None else (np.array(samples[0]), np.array(samples[1]))
    mat = profile_matrix(n, ratio, width, profile, smp)
    mat.setflags(write=False)
    return mat


@register_acquisition
class SliceAcquisition(Acquisition):
    """Thick slices along one axis with a slice profile.

    Args:
        thickness: Slice thickness in mm (rect: box width; gaussian: FWHM), > 0.
        spacing: Distance between slice centres in mm (default: ``thickness``, contiguous).
        profile: ``rect``, ``gaussian`` or the path of a profile file
            (:func:`dnsp.ops.slice_profile.read_profile`).
        fine_spacing: Spacing of the HR grid along the slice axis, mm (default 1).
        axis: The slice axis of the arrays given to :meth:`simulate` (default -1).
        scale: Must be 1 or ``None`` (the in-plane factor; accepted so configs may state it).
        noise: Rician noise level (see :class:`~dnsp.acquisition.base.Acquisition`).

    Raises:
        ValueError: Non-positive thickness/spacing/fine spacing, a spacing finer than the
            HR grid, an unknown profile name or an unreadable profile file (one line each).
    """

    name = "slices"
    along_slices = True

    def __init__(self, thickness: float, spacing: float | None = None, profile: str = "rect",
                 fine_spacing: float = 1.0, axis: int = -1, *, scale: int | None = None,
                 noise: float = 0.0) -> None:
        if scale not in (None, 1):
            raise ValueError(f"the slices model acts along the slice axis only (scale 1), "
                             f"got scale {scale!r}")
        super().__init__(1, noise=noise)
        nums = {"thickness": thickness, "fine_spacing": fine_spacing,
                "spacing": thickness if spacing is None else spacing}
        for key, val in nums.items():
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not (
                    np.isfinite(val) and val > 0):
                raise ValueError(f"slice {key} must be a number > 0 (mm), got {val!r}")
        self.thickness = float(thickness)
        self.spacing = float(nums["spacing"])
        self.fine_spacing = float(fine_spacing)
        if self.spacing < self.fine_spacing:
            raise ValueError(f"slice spacing {self.spacing:g} mm is finer than the HR grid "
                             f"({self.fine_spacing:g} mm)")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an integer, got {axis!r}")
        self.axis = axis
        self.samples: tuple[tuple[float, ...], tuple[float, ...]] | None = None
        if not isinstance(profile, (str, os.PathLike)):
            raise ValueError(f"profile must be a name or a file path, got {profile!r}")
        self.profile = str(profile)
        if self.profile not in PROFILES:
            if not Path(self.profile).is_file():
                raise ValueError(f"unknown slice profile {self.profile!r}; valid profiles: "
                                 f"{', '.join(PROFILES)} or an existing profile file")
            pos, w = read_profile(self.profile, self.thickness)
            self.samples = (tuple(pos / self.fine_spacing), tuple(w))

    @classmethod
    def from_command_line(cls, scale: int, fine_spacing: float, **options: Any
                          ) -> SliceAcquisition:
        """``dnsp degrade --acquisition slices --scale S``: slices ``S`` fine voxels apart.

        Options: ``thickness`` (mm; default the spacing, contiguous slices), ``profile``
        (``rect``, ``gaussian`` or a file; default ``rect``), ``noise``.
        """
        spacing = float(scale) * float(fine_spacing)
        thickness = options.pop("thickness", None)
        return cls(spacing if thickness is None else thickness, spacing,
                   fine_spacing=fine_spacing, **options)

    @property
    def ratio(self) -> float:
        """Slice spacing in fine voxels (``spacing / fine_spacing``)."""
        return self.spacing / self.fine_spacing

    @property
    def width(self) -> float:
        """Slice thickness in fine voxels."""
        return self.thickness / self.fine_spacing

    def profile_kind(self) -> str:
        """``rect``, ``gaussian`` or ``sampled``."""
        return "sampled" if self.samples is not None else self.profile

    def axis_matrix(self, n: int) -> np.ndarray:
        """``(m, n)`` float64 acquisition matrix along the slice axis (rows sum to 1)."""
        return _matrix(int(n), self.ratio, self.width, self.profile_kind(), self.samples)

    def interpolation_matrix(self, m: int, n: int | None = None) -> np.ndarray:
        """``(n, m)`` cubic B-spline matrix from ``m`` slices to the fine grid."""
        return bspline_matrix(m, fine_positions(m, self.ratio, n))

    def _acquire(self, hr: Tensor) -> Tensor:
        ax = self.axis % hr.ndim
        mat = torch.tensor(self.axis_matrix(hr.shape[ax]), dtype=hr.dtype, device=hr.device)
        return torch.tensordot(hr.movedim(ax, -1), mat, dims=([-1], [1])).movedim(-1, ax)

    def simulate(self, hr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Thick slices of ``hr`` along :attr:`axis`: ``n`` -> ``floor(n / ratio)`` samples."""
        if hr.ndim < 1:
            raise ValueError("hr must have at least one dimension")
        thick_count(hr.shape[self.axis % hr.ndim], self.ratio)  # one clear error if too short
        return super().simulate(hr, generator) if hr.ndim >= 2 else self._acquire(hr)

    def network_input(self, lr: Tensor) -> Tensor:
        """Cubic B-spline of the slices on the fine grid (``ceil(m * ratio)`` samples)."""
        ax = self.axis % lr.ndim
        mat = torch.as_tensor(self.interpolation_matrix(lr.shape[ax]), dtype=lr.dtype,
                              device=lr.device)
        return torch.tensordot(lr.movedim(ax, -1), mat, dims=([-1], [1])).movedim(-1, ax)

    def operator(self, height: int, width: int, dtype: torch.dtype = torch.float32
                 ) -> SeparableOperator:
        """The model on ``(height, width)`` images (slice axis -2 or -1, identity on the other).

        Raises:
            ValueError: If :attr:`axis` is not -2, -1 (the image axes).
        """
        if self.axis not in (-2, -1):
            raise ValueError(f"operator() needs the slice axis among the image axes -2/-1, "
                             f"got {self.axis}")
        a = torch.tensor(self.axis_matrix(height if self.axis == -2 else width))
        eye = torch.eye(width if self.axis == -2 else height, dtype=torch.float64)
        a_h, a_w = (a, eye) if self.axis == -2 else (eye, a)
        return SeparableOperator(a_h.to(dtype), a_w.to(dtype))

    def lr_affine(self, affine: np.ndarray, axes: Sequence[int], size: int | None = None
                  ) -> np.ndarray:
        """Affine of the thick volume; ``axes`` is the one voxel slice axis, ``size`` its HR
        length (required: the centring depends on it)."""
        ax, n = self._one_axis(axes, size)
        return thick_affine(affine, ax, n, self.ratio)

    def hr_affine(self, affine: np.ndarray, axes: Sequence[int], size: int | None = None
                  ) -> np.ndarray:
        """Affine of the fine grid of a thick volume with ``size`` slices along ``axes``."""
        ax, m = self._one_axis(axes, size)
        return fine_affine(affine, ax, m, self.ratio, fine_count(m, self.ratio))

    @staticmethod
    def _one_axis(axes: Sequence[int], size: int | None) -> tuple[int, int]:
        axes = list(axes)
        if len(axes) != 1 or size is None:
            raise ValueError("the slices model needs exactly one voxel axis and its size")
        return int(axes[0]), int(size)

    def _params(self) -> dict[str, Any]:
        return {"thickness": self.thickness, "spacing": self.spacing, "profile": self.profile,
                "fine_spacing": self.fine_spacing, "axis": self.axis}

    def describe(self) -> str:
        """E.g. ``slices 4 mm rect, every 4 mm (ratio 4 on a 1 mm grid)``."""
        noise = f", {100 * self.noise:g}% Rician noise" if self.noise else ""
        return (f"slices {self.thickness:g} mm {self.profile}, every {self.spacing:g} mm "
                f"(ratio {self.ratio:.3g} on a {self.fine_spacing:g} mm grid{noise})")
