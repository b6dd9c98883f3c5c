"""The plane ``dnsp upscale`` works in: the acquisition plane, checked in world coordinates.

For axial, coronal, sagittal and oblique acquisitions (thick slices along one voxel axis, in
any voxel order), the upscaled axes are the two fine ones: in world coordinates the output
voxels are ``s`` times smaller along the two fine directions and unchanged along the thick
one, and each ``s x s`` block of HR voxels is centred on its LR voxel.
"""

from __future__ import annotations

import numpy as np
import pytest

from dnsp.data.orientation import PLANES, choose_plane, plane_axes, world_axes
from dnsp.errors import InputError
from dnsp.infer.upscale import upscale_volume
from dnsp.methods import get_method


def _rotation(angles: tuple[float, float, float]) -> np.ndarray:
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def _affine(world_of_voxel: tuple[int, int, int], sizes: tuple[float, float, float],
            angles: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Voxel axis i along world axis ``world_of_voxel[i]`` (0 R-L, 1 A-P, 2 S-I), rotated."""
    perm = np.zeros((3, 3))
    for vox, world in enumerate(world_of_voxel):
        perm[world, vox] = -1.0 if vox == 1 else 1.0  # one flipped axis, like real scans
    aff = np.eye(4)
    aff[:3, :3] = _rotation(angles) @ perm @ np.diag(sizes)
    aff[:3, 3] = [12.0, -30.0, 8.0]
    return aff


# (case, voxel order as world axes, voxel sizes, rotation, expected plane, thick voxel axis)
CASES = [
    ("axial RAS", (0, 1, 2), (1.0, 1.0, 4.0), (0, 0, 0), "axial", 2),
    ("coronal RAS order", (0, 1, 2), (1.0, 4.0, 1.0), (0, 0, 0), "coronal", 1),
    ("sagittal RAS order", (0, 1, 2), (4.0, 1.0, 1.0), (0, 0, 0), "sagittal", 0),
    ("coronal, slices last", (0, 2, 1), (0.9, 0.9, 5.0), (0, 0, 0), "coronal", 2),
    ("sagittal, slices last", (1, 2, 0), (1.1, 1.0, 3.0), (0, 0, 0), "sagittal", 2),
    ("oblique coronal", (0, 2, 1), (0.8, 0.8, 4.0), (0.35, 0.2, -0.25), "coronal", 2),
    ("oblique axial", (1, 0, 2), (1.0, 1.0, 6.0), (0.3, -0.2, 0.5), "axial", 2),
    ("thick coronal 0.5 x 4 x 0.5", (0, 1, 2), (0.5, 4.0, 0.5), (0, 0, 0), "coronal", 1),
    ("sagittal MPRAGE 1 x 1 x 1.2", (1, 2, 0), (1.0, 1.0, 1.2), (0, 0, 0), "sagittal", 2),
    ("degraded 1 mm head 2 x 2 x 1", (0, 1, 2), (2.0, 2.0, 1.0), (0, 0, 0), "axial", 2),
    ("degraded coronal 2 x 1 x 2", (0, 1, 2), (2.0, 1.0, 2.0), (0, 0, 0), "coronal", 1),
]


def _world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    return ijk @ affine[:3, :3].T + affine[:3, 3]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_acquisition_plane_in_world_coordinates(case) -> None:  # type: ignore[no-untyped-def]
    _, order, sizes, angles, plane, thick = case
    aff = _affine(order, sizes, angles)
    choice = choose_plane(aff)
    assert choice.plane == plane and choice.axes[2] == thick
    assert "acquisition plane" in choice.reason
    shape = (6, 5, 4)
    data = np.random.default_rng(0).random(shape).astype(np.float32) * 100.0
    s = 2
    hr, hr_aff = upscale_volume(data, aff, get_method("bicubic", clip=False), s)
    fine = [a for a in range(3) if a != thick]
    expected = [n * (1 if a == thick else s) for a, n in enumerate(shape)]
    assert list(hr.shape) == expected
    # world voxel vectors: the thick direction unchanged, the fine ones divided by s
    np.testing.assert_allclose(hr_aff[:3, thick], aff[:3, thick], atol=1e-12)
    for a in fine:
        np.testing.assert_allclose(hr_aff[:3, a], aff[:3, a] / s, atol=1e-12)
    # every s x s block of HR voxels is centred, in world coordinates, on its LR voxel
    for lr_idx in ([0, 0, 0], [5, 4, 3], [2, 3, 1]):
        block = []
        for da in range(s):
            for db in range(s):
                idx = np.array(lr_idx, float)
                idx[fine[0]] = lr_idx[fine[0]] * s + da
                idx[fine[1]] = lr_idx[fine[1]] * s + db
                block.append(idx)
        centre = _world(hr_aff, np.array(block)).mean(axis=0)
        np.testing.assert_allclose(centre, _world(aff, np.array(lr_idx, float)), atol=1e-9)


def test_isotropic_and_ties_fall_back_to_anatomy() -> None:
    iso = _affine((1, 2, 0), (1.0, 1.0, 1.0), (0.1, 0.0, 0.0))
    choice = choose_plane(iso)
    assert choice.plane == "axial" and "isotropic" in choice.reason
    assert choice.axes == plane_axes(iso, "axial")
    # two thick axes: the plane of the 3 x 3 mm pixels (most nearly square), not axial
    two = _affine((0, 1, 2), (1.0, 3.0, 3.0))
    assert choose_plane(two).plane == "sagittal" and choose_plane(two).axes[2] == 0
    # two pairs equally square and equally fine: anatomy (axial first)
    alike = _affine((0, 1, 2), (1.0, 1.0, 1.0))
    assert choose_plane(alike).plane == "axial"
    near = _affine((0, 1, 2), (1.0, 1.0, 1.005))  # within the tolerance: a tie
    assert "isotropic" in choose_plane(near).reason


@pytest.mark.parametrize(("sizes", "slice_axis"), [
    ((2.0, 2.0, 1.0), 2),      # SPEC: a 1 mm head after dnsp degrade --scale 2
    ((1.0, 1.0, 1.2), 2),      # MPRAGE
    ((0.5, 4.0, 0.5), 1),      # thick coronal slices
    ((1.0, 1.05, 1.6), 2),     # r = 1.05 beats 1.52 and 1.6
    ((1.0, 1.08, 1.04), 1),    # r 1.08, 1.04, 1.038 all candidates: the finest pair (0, 2)
])
def test_spec_rule_most_nearly_equal_then_finest(sizes: tuple[float, float, float],
                                                 slice_axis: int) -> None:
    """SPEC section 4: ratio within 1.1 x the smallest, then the finest pair, then axial."""
    from dnsp.data.orientation import acquisition_slice_axes

    aff = _affine((0, 1, 2), sizes)
    assert acquisition_slice_axes(aff) == [slice_axis]
    assert choose_plane(aff).axes[2] == slice_axis


def test_forced_plane_says_it_is_not_the_acquisition_plane() -> None:
    aff = _affine((0, 1, 2), (1.0, 4.0, 1.0))
    forced = choose_plane(aff, "axial")
    assert forced.plane == "axial" and forced.acquired == "coronal"
    assert forced.reason.startswith("--plane axial; not the acquisition plane (coronal")
    same = choose_plane(aff, "coronal")
    assert same.plane == "coronal" and same.reason.startswith("--plane coronal;")
    for plane in PLANES:
        row, col, sl = choose_plane(aff, plane).axes
        assert sorted((row, col, sl)) == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown plane"):
        choose_plane(aff, "oblique")
    with pytest.raises(InputError, match="unknown plane"):
        upscale_volume(np.ones((2, 2, 2), np.float32), aff, get_method("bicubic"), 2,
                       plane="oblique")


def test_plane_axes_display_convention() -> None:
    aff = _affine((2, 0, 1), (1.0, 1.0, 1.0))
    rl, ap, si = world_axes(aff)
    assert (rl, ap, si) == (1, 2, 0)
    assert plane_axes(aff, "axial") == (ap, rl, si)
    assert plane_axes(aff, "coronal") == (si, rl, ap)
    assert plane_axes(aff, "sagittal") == (si, ap, rl)
