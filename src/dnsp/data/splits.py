"""Which subjects and which axial slices go to training, validation and test (SPEC sec. 2).

Multi-subject sources (sorted by id) use the first half (rounded up) as the training pool and
the rest as the test set (IXI: first 20 / last 20); the last ``round(val_fraction * pool)``
pool subjects (at least one when ``val_fraction > 0``) are the validation subjects, and each
subject contributes its ``n_slices`` central axial slices containing foreground. A single
volume (the BrainWeb phantom, a single user volume) is split into axial slabs instead
(:mod:`dnsp.data.slicing`; the phantom's exact indices are
:data:`dnsp.data.embedded.PHANTOM_SLABS`).
"""

from __future__ import annotations

import numpy as np

from dnsp.data.embedded import PHANTOM_SLABS
from dnsp.data.io import Volume
from dnsp.data.orientation import axial_axes
from dnsp.data.slicing import central_slices, slab_layout
from dnsp.data.sources import Subject, get_source
from dnsp.data.spec import SRDataSpec

__all__ = ["SINGLE_VOLUME_VAL_SLICES", "phantom_slabs", "select_slices", "split_subjects"]

#: Validation slab size for single-volume sources (when ``val_fraction > 0``).
SINGLE_VOLUME_VAL_SLICES = 10


def split_subjects(
    subjects: list[Subject], val_fraction: float
) -> tuple[list[Subject], list[Subject], list[Subject]]:
    """Subject-level split: ``(train, val, test)`` (see the module docstring).

    With a single subject all three lists hold it (slab split of its slices).
    """
    n = len(subjects)
    if n == 1:
        return list(subjects), list(subjects) if val_fraction > 0 else [], list(subjects)
    n_pool = n - n // 2
    pool, test = subjects[:n_pool], subjects[n_pool:]
    n_val = 0
    if val_fraction > 0 and n_pool >= 2:
        n_val = min(max(1, round(val_fraction * n_pool)), n_pool - 1)
    return pool[: n_pool - n_val], pool[n_pool - n_val:], test


def phantom_slabs(vol: Volume, n_slices: int) -> dict[str, tuple[int, ...]] | None:
    """The fixed phantom slabs mapped onto ``vol`` if it is (a z-crop of) the BrainWeb grid."""
    aff = vol.affine
    if n_slices != len(PHANTOM_SLABS["train"]) or vol.shape[:2] != (181, 217):
        return None
    if not (np.allclose(aff[:3, :3], np.eye(3)) and np.allclose(aff[:2, 3], [-90.0, -126.0])):
        return None
    offset = round(-72.0 - float(aff[2, 3]))
    out = {k: tuple(i + offset for i in v) for k, v in PHANTOM_SLABS.items()}
    if min(out["train"]) < 0 or max(out["test"]) >= vol.shape[2]:
        return None
    return out


def select_slices(stack: np.ndarray, vol: Volume, spec: SRDataSpec, role: str, single: bool
                  ) -> np.ndarray:
    """Axial slice indices of ``stack`` (the axial stack of ``vol``) for ``role``.

    Args:
        stack: (N, H, W) axial stack in [0, 1].
        vol: The volume it came from (affine, voxel sizes).
        spec: Gives ``n_slices``, ``val_fraction`` and the source.
        role: ``"train"``, ``"val"`` or ``"test"``.
        single: Whether the source has a single subject (slab split).
    """
    if not single:
        _, _, sl = axial_axes(vol.affine)
        return central_slices(stack, spec.n_slices, slice_mm=float(vol.zooms[sl]),
                              superior_is_high=bool(vol.affine[2, sl] > 0))
    slabs = phantom_slabs(vol, spec.n_slices) if get_source(spec.source).phantom_grid else None
    if slabs is None:
        n_val = SINGLE_VOLUME_VAL_SLICES if spec.val_fraction > 0 else 0
        lay = slab_layout(stack, spec.n_slices, n_val)
        slabs = {"train": lay.train, "val": lay.val, "test": lay.test}
    return np.asarray(slabs[role], dtype=np.int64)
