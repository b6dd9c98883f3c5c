"""A synthetic raw BIDS dataset of small head-like volumes (tests, benchmarks, examples).

Each image is a smooth ellipsoidal "head" with a darker "ventricle" and a little noise, in
scanner-like units, with a per-image seed so that every file differs; T2w images invert the
contrast of T1w. Nothing here is meant to look like real anatomy: it exercises the BIDS
plumbing (names, sessions, suffixes, sharding) at the speed of tiny volumes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnsp.fsutil import atomic_path

__all__ = ["make_synthetic_dataset", "synthetic_head"]


def synthetic_head(shape: tuple[int, int, int], seed: int, t2: bool = False) -> np.ndarray:
    """A float32 head-like volume (X, Y, Z) in [~0, ~1000] (RAS voxel order)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1.0, 1.0, n) for n in shape], indexing="ij")
    r_head = np.sqrt((grids[0] / 0.85) ** 2 + (grids[1] / 0.95) ** 2 + (grids[2] / 1.1) ** 2)
    r_vent = np.sqrt((grids[0] / 0.2) ** 2 + (grids[1] / 0.35) ** 2 + (grids[2] / 0.6) ** 2)
    head = 1.0 / (1.0 + np.exp((r_head - 1.0) * 20.0))
    vent = 1.0 / (1.0 + np.exp((r_vent - 1.0) * 10.0))
    tissue = head * (1.0 - 0.6 * vent) if not t2 else head * (0.4 + 0.6 * vent)
    vol = 800.0 * tissue + 20.0 * rng.standard_normal(shape) * head + 5.0 * rng.random(shape)
    return np.clip(vol, 0.0, None).astype(np.float32)


def make_synthetic_dataset(
    root: str | os.PathLike[str],
    participants: Sequence[str] = ("01", "02", "03"),
    sessions: Sequence[str] | None = ("1", "2"),
    suffixes: Sequence[str] = ("T1w", "T2w"),
    shape: tuple[int, int, int] = (24, 24, 6),
    voxel: tuple[float, float, float] = (1.0, 1.0, 3.0),
) -> list[Path]:
    """Write a raw BIDS dataset under ``root`` (created); return the image paths, sorted.

    Args:
        root: Dataset folder (must not exist or be empty).
        participants: Labels without ``sub-``.
        sessions: Labels without ``ses-``; ``None`` for a dataset without sessions.
        suffixes: Anatomical suffixes; each gets one image per participant and session.
        shape: Voxel grid of every image (RAS order: axial plane = first two axes).
        voxel: Voxel sizes in mm.
    """
    import nibabel as nib

    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    desc = {"Name": "dnsp synthetic cohort", "BIDSVersion": "1.10.0", "DatasetType": "raw"}
    with atomic_path(base / "dataset_description.json") as tmp:
        tmp.write_text(json.dumps(desc, indent=2) + "\n", encoding="utf-8")
    affine = np.diag([*voxel, 1.0])
    affine[:3, 3] = [-(n - 1) * v / 2.0 for n, v in zip(shape, voxel, strict=True)]
    written = []
    seed = 0
    for sub in participants:
        for ses in (sessions if sessions is not None else [None]):
            folder = base / f"sub-{sub}" / (f"ses-{ses}" if ses else "") / "anat"
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"sub-{sub}" + (f"_ses-{ses}" if ses else "")
            for suffix in suffixes:
                seed += 1
                data = synthetic_head(shape, seed, t2=suffix != "T1w")
                path = folder / f"{stem}_{suffix}.nii.gz"
                nib.save(nib.Nifti1Image(data, affine), str(path))
                written.append(path)
    return sorted(written)
