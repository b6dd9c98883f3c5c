"""Shared fixtures for dnsp.infer tests: small synthetic oblique volumes in scanner units.

The tiny network and model registry fixtures are in ``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest


def oblique_psr_affine() -> np.ndarray:
    """A PSR-ordered (sagittal voxel order, like IXI), slightly rotated, anisotropic affine."""
    theta = 0.1
    rot = np.array([[np.cos(theta), -np.sin(theta), 0.0],
                    [np.sin(theta), np.cos(theta), 0.0],
                    [0.0, 0.0, 1.0]])
    # voxel axis 0 -> -A (P), axis 1 -> +S, axis 2 -> +R
    perm = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ perm @ np.diag([1.2, 2.0, 0.9])
    aff[:3, 3] = [10.0, -20.0, 5.0]
    return aff


def smooth_volume(shape: tuple[int, int, int], seed: int = 0, peak: float = 1000.0
                  ) -> np.ndarray:
    """A positive blob-like volume in scanner-like units (not [0, 1])."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r2 = sum(g**2 for g in grids)
    vol = peak * np.exp(-2.0 * r2) + 0.05 * peak * rng.random(shape)
    return vol.astype(np.float32)


@pytest.fixture
def make_volume():  # type: ignore[no-untyped-def]
    """The :func:`smooth_volume` factory."""
    return smooth_volume


@pytest.fixture
def psr_affine() -> np.ndarray:
    """The oblique PSR affine of :func:`oblique_psr_affine`."""
    return oblique_psr_affine()


@pytest.fixture
def nifti_file(tmp_path: Path) -> Path:
    """A 12 x 10 x 6 oblique PSR NIfTI volume in scanner units."""
    path = tmp_path / "in" / "scan.nii.gz"
    path.parent.mkdir()
    nib.save(nib.Nifti1Image(smooth_volume((12, 10, 6)), oblique_psr_affine()), str(path))
    return path
