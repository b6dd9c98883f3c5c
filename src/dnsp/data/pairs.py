"""Simulated LR/HR scan pairs for the paired pipeline of paper Sec. IV-F (SPEC section 4).

No real paired scans are available, so pairs are made from an HR volume: the head is moved by
a small random rigid transform (a second session), degraded in the axial plane (SPEC sec. 4
blur + block mean, optionally low-field noise), and stored on its own coarse grid with the
*unmoved* LR affine, as a scanner would. :func:`make_pairs_folder` then registers each LR scan
to its HR scan (:func:`dnsp.data.registration.register_volumes`) and writes the ``hr``/``lr``
folder layout that the ``pairs`` source of :mod:`dnsp.data.sources` reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnsp.acquisition.lowfield import simulate_low_field
from dnsp.data.degradation import degrade_volume
from dnsp.data.io import Volume, image_stem, load_volume, save_volume
from dnsp.data.registration import register_volumes, to_sitk

__all__ = ["SimulatedPair", "make_pairs_folder", "simulate_lr_scan"]


@dataclass
class SimulatedPair:
    """A simulated LR scan and the rigid motion applied before degradation.

    ``rotation`` (radians, Euler angles about x, y, z in LPS) and ``translation`` (mm, LPS)
    define the ITK transform mapping HR physical points to the moved head's points.
    """

    lr: Volume
    rotation: tuple[float, float, float]
    translation: tuple[float, float, float]


def simulate_lr_scan(
    hr: Volume, scale: int = 2, max_rotation_deg: float = 3.0, max_shift_mm: float = 2.0,
    seed: int = 0, low_field: tuple[float, float] | None = None,
) -> SimulatedPair:
    """Simulate a second, lower-resolution scan of the head in ``hr``.

    Args:
        hr: The HR volume.
        scale: In-plane downsampling factor (>= 2).
        max_rotation_deg: Bound of each uniform random rotation angle.
        max_shift_mm: Bound of each uniform random translation component.
        seed: Random seed of the motion (and of the low-field noise).
        low_field: Optional ``(b_high, b_low)`` to add the low-field simulation.

    Returns:
        The :class:`SimulatedPair`.
    """
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    rot = tuple(float(v) for v in np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg,
                                                         3)))
    shift = tuple(float(v) for v in rng.uniform(-max_shift_mm, max_shift_mm, 3))
    img = to_sitk(hr.data, hr.affine)
    centre = img.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in img.GetSize()])
    motion = sitk.Euler3DTransform()
    motion.SetCenter(centre)
    motion.SetRotation(*rot)
    motion.SetTranslation(shift)
    moved = sitk.Resample(img, img, motion.GetInverse(), sitk.sitkBSpline, 0.0, sitk.sitkFloat32)
    data = np.transpose(sitk.GetArrayFromImage(moved), (2, 1, 0)).clip(0, None)
    if low_field is not None:
        data = simulate_low_field(data, low_field[0], low_field[1], seed=seed).data
    lr, lr_aff = degrade_volume(data.astype(np.float32), hr.affine, scale)
    return SimulatedPair(lr=Volume(lr, lr_aff, None, None), rotation=rot, translation=shift)


def make_pairs_folder(
    hr_paths: Sequence[str | os.PathLike[str]], out_root: str | os.PathLike[str],
    scale: int = 2, seed: int = 0, kind: str = "rigid", keep_unregistered: bool = True,
) -> list[tuple[Path, Path]]:
    """Write ``out_root/hr/<name>.nii.gz`` and registered ``out_root/lr/<name>.nii.gz`` pairs.

    The unregistered LR scans go to ``out_root/lr_raw`` when ``keep_unregistered``.

    Returns:
        ``(hr_path, lr_path)`` of every pair written.
    """
    root = Path(out_root)
    for sub in ("hr", "lr") + (("lr_raw",) if keep_unregistered else ()):
        (root / sub).mkdir(parents=True, exist_ok=True)
    written = []
    for k, p in enumerate(hr_paths):
        hr = load_volume(p)
        name = image_stem(Path(p).name) or Path(p).name
        pair = simulate_lr_scan(hr, scale=scale, seed=seed + k)
        if keep_unregistered:
            save_volume(pair.lr.data, pair.lr.affine, root / "lr_raw" / f"{name}.nii.gz")
        reg = register_volumes(pair.lr, hr, kind=kind, seed=seed)
        hr_out = save_volume(hr.data, hr.affine, root / "hr" / f"{name}.nii.gz", like=hr)
        lr_out = save_volume(reg.data, reg.affine, root / "lr" / f"{name}.nii.gz", like=hr)
        written.append((hr_out, lr_out))
    return written
