"""Shared fixtures for dnsp.data tests: tiny synthetic heads in any orientation."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from dnsp.paths import shared_data_root

SHARED_DATA = shared_data_root()


@pytest.fixture
def shared_data() -> Path:
    """The shared data (:func:`dnsp.paths.shared_data_root`), or skip the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA.resolve()


def synthetic_head(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A smooth ellipsoidal 'head' with textured interior on a dark noisy background."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r2 = sum((g / 0.8) ** 2 for g in grids)
    texture = sum(np.sin((3 + k) * np.pi * g + rng.uniform(0, 6)) for k, g in enumerate(grids))
    vol = np.where(r2 < 1.0, 100.0 + 20.0 * texture, 0.0)
    vol += np.where((r2 > 0.7) & (r2 < 1.0), 40.0, 0.0)
    vol += rng.normal(0, 2.0, shape) ** 2  # non-negative background noise
    return vol.astype(np.float32)


def orientation_affines() -> list[np.ndarray]:
    """Axis permutations and flips with anisotropic voxels, plus one oblique affine."""
    out = []
    for perm, flips in itertools.product(
        itertools.permutations(range(3)), [(1, 1, 1), (-1, 1, -1)]
    ):
        aff = np.zeros((4, 4))
        zooms = (0.9, 1.2, 2.0)
        for vox, world in enumerate(perm):
            aff[world, vox] = flips[vox] * zooms[vox]
        aff[:3, 3] = (-10.0, 20.0, 5.5)
        aff[3, 3] = 1.0
        out.append(aff)
    c, s = np.cos(0.2), np.sin(0.2)
    obl = np.eye(4)
    obl[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([1.0, 1.0, 1.5])
    obl[:3, 3] = (3.0, -4.0, 1.0)
    out.append(obl)
    return out


_AFFINES = orientation_affines()


@pytest.fixture(params=range(len(_AFFINES)), ids=lambda k: f"aff{k}")
def any_affine(request: pytest.FixtureRequest) -> np.ndarray:
    """Each of :func:`orientation_affines` in turn."""
    return _AFFINES[request.param].copy()


@pytest.fixture
def make_head():  # type: ignore[no-untyped-def]
    """The :func:`synthetic_head` factory."""
    return synthetic_head


@pytest.fixture
def head() -> np.ndarray:
    """A 17 x 15 x 11 synthetic head (odd sizes)."""
    return synthetic_head((17, 15, 11))


#: A permuted, flipped, anisotropic (2 mm) affine: posterior-superior-right voxel axes.
PSR = np.array([[0, 0, 2.0, -10], [-2.0, 0, 0, 20], [0, 2.0, 0, -5], [0, 0, 0, 1]])


@pytest.fixture
def make_ixi_folder(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: ``n`` synthetic IXI-named heads of ``shape`` (PSR affine) in a new folder."""

    def make(n: int, shape: tuple[int, int, int]) -> Path:
        import nibabel as nib

        root = tmp_path / "vols"
        root.mkdir()
        for k in range(n):
            nib.save(nib.Nifti1Image(synthetic_head(shape, seed=k), PSR),
                     str(root / f"IXI{k:03d}-XX-{k}_T1.nii.gz"))
        return root

    return make
