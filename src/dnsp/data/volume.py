"""The in-memory MR volume (:class:`Volume`) and checks on its voxels.

The lowest module of :mod:`dnsp.data`: readers (:mod:`dnsp.data.io`, the BrainWeb raw reader
:mod:`dnsp.data.brainweb`) build volumes from it without importing each other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dnsp.errors import InputError

__all__ = ["Volume", "check_finite", "voxel_sizes"]


@dataclass
class Volume:
    """A 3-D MR volume.

    Attributes:
        data: Voxel intensities, float32, shape (X, Y, Z) in the file's voxel order.
        affine: (4, 4) float64 voxel-to-world (RAS+ mm) matrix.
        header: The reader's header (a nibabel header, or ``None`` for DICOM/raw input).
        path: Where the volume was read from (``None`` for volumes built in memory).
    """

    data: np.ndarray
    affine: np.ndarray
    header: Any = None
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxel grid shape."""
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def zooms(self) -> np.ndarray:
        """Voxel sizes (mm) along the three voxel axes."""
        return voxel_sizes(self.affine)


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """Length of each voxel axis in world units (column norms of the 3x3 part)."""
    return np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))


def check_finite(data: np.ndarray, what: str) -> None:
    """Raise :class:`InputError` if ``data`` holds NaN or infinite values."""
    if not np.all(np.isfinite(data)):
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise InputError(f"{what} contains {bad} NaN or infinite voxel(s)")
