"""Slice profiles and the thick-slice grid (dnsp.ops.slice_profile): golden values, means,
block means, the grid rule and its inverse, geometry in world coordinates, bad arguments."""

import numpy as np
import pytest

from dnsp.ops import downscale_affine, upscale_affine
from dnsp.ops.slice_profile import (
    bspline_matrix,
    fine_affine,
    fine_count,
    fine_positions,
    profile_matrix,
    read_profile,
    resample_axis,
    thick_affine,
    thick_count,
    thick_positions,
)


def test_rect_golden_non_integer_ratio() -> None:
    # n = 5, ratio 2.5 -> 2 slices centred at 0.75 and 3.25, box width 2.5
    mat = profile_matrix(5, 2.5, 2.5, "rect")
    np.testing.assert_allclose(thick_positions(5, 2.5), [0.75, 3.25])
    want = np.array([[1.0, 1.0, 0.5, 0, 0], [0, 0, 0.5, 1.0, 1.0]]) / 2.5
    np.testing.assert_allclose(mat, want, atol=1e-12)


def test_gaussian_golden() -> None:
    # FWHM 2 voxels on a ratio-2 grid of 4 voxels: slice 0 at 0.5, sigma = 2 / 2.3548;
    # voxel cells relative to it [-1, 0], [0, 1], [1, 2], [2, 3] -> Phi differences
    # 0.38048, 0.38048, 0.11025, 0.00906 (the tail below -1 lies outside the axis), / 0.88027
    mat = profile_matrix(4, 2.0, 2.0, "gaussian")
    np.testing.assert_allclose(mat[0], [0.43223, 0.43223, 0.12525, 0.01029], atol=2e-5)
    np.testing.assert_allclose(mat[1], mat[0][::-1], atol=1e-12)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_rect_thickness_equal_spacing_is_block_mean(s: int) -> None:
    x = np.random.default_rng(0).random((3, 6 * s))
    got = resample_axis(x, profile_matrix(6 * s, s, s, "rect"), -1)
    np.testing.assert_allclose(got, x.reshape(3, 6, s).mean(-1), atol=1e-6)


@pytest.mark.parametrize("profile,ratio,width", [("rect", 3.3, 2.0), ("gaussian", 2.7, 4.1),
                                                 ("rect", 4.0, 5.5)])
def test_mean_preserved(profile: str, ratio: float, width: float) -> None:
    mat = profile_matrix(40, ratio, width, profile)
    np.testing.assert_allclose(mat.sum(1), 1.0, atol=1e-12)
    const = resample_axis(np.full((2, 40), 0.7), mat, -1)
    np.testing.assert_allclose(const, 0.7, atol=1e-6)


def test_sampled_profile_equals_rect() -> None:
    pos, w = np.array([-1.5 - 1e-9, -1.5, 1.5, 1.5 + 1e-9]), np.array([0.0, 1, 1, 0])
    got = profile_matrix(12, 3.0, 3.0, "sampled", (pos, w))
    np.testing.assert_allclose(got, profile_matrix(12, 3.0, 3.0, "rect"), atol=0.02)


@pytest.mark.parametrize("m,ratio", [(7, 2.0), (10, 2.4), (5, 3.7), (9, 5.0)])
def test_grids_invert_each_other(m: int, ratio: float) -> None:
    n = fine_count(m, ratio)
    assert thick_count(n, ratio) == m
    # fine voxel j at thick coordinate p_j  <=>  thick slice k at fine coordinate c_k
    c = thick_positions(n, ratio)
    p = fine_positions(m, ratio)
    np.testing.assert_allclose(np.interp(np.arange(m), p, np.arange(n)), c, atol=1e-9)
    # the fine field of view covers the thick one, by less than one fine voxel
    excess = n / ratio - m
    assert 0 <= excess < 1 / ratio + 1e-9


def test_integer_ratio_is_spec_section_4() -> None:
    a = np.diag([0.9, 0.9, 4.0, 1.0])
    a[:3, 3] = [-10, 5, 30]
    np.testing.assert_allclose(fine_affine(a, 2, 10, 4.0), upscale_affine(a, 4, (2,)))
    np.testing.assert_allclose(thick_affine(upscale_affine(a, 4, (2,)), 2, 40, 4.0), a)
    np.testing.assert_allclose(thick_affine(np.eye(4), 0, 12, 3.0),
                               downscale_affine(np.eye(4), 3, (0,)))


def test_world_geometry_oblique_non_integer() -> None:
    rng = np.random.default_rng(3)
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag([0.86, 0.86, 2.4])
    a[:3, 3] = [-80, 20, 7]
    m, ratio = 11, 2.4 / 0.86
    n = fine_count(m, ratio)
    fa = fine_affine(a, 2, m, ratio)
    np.testing.assert_allclose(np.linalg.norm(fa[:3, 2]), 0.86)
    # world centre of the two fields of view coincide
    centre_thick = a @ [3, 4, (m - 1) / 2, 1]
    centre_fine = fa @ [3, 4, (n - 1) / 2, 1]
    np.testing.assert_allclose(centre_fine, centre_thick, atol=1e-9)
    # fine voxel j lies where fine_positions says, in world coordinates
    pos = fine_positions(m, ratio)
    for j in (0, 5, n - 1):
        np.testing.assert_allclose(fa @ [0, 0, j, 1], a @ [0, 0, pos[j], 1], atol=1e-9)
    np.testing.assert_allclose(thick_affine(fa, 2, n, ratio), a, atol=1e-9)


def test_bspline_interpolates_samples() -> None:
    x = np.random.default_rng(1).random(9)
    np.testing.assert_allclose(bspline_matrix(9, np.arange(9.0)) @ x, x, atol=1e-6)
    np.testing.assert_allclose(bspline_matrix(9, fine_positions(9, 2.5)).sum(1), 1, atol=1e-6)


def test_read_profile(tmp_path) -> None:
    one = tmp_path / "one.txt"
    one.write_text("# weights\n0\n1\n1\n1\n0\n")
    pos, w = read_profile(one, 2.0)
    np.testing.assert_allclose(pos, [-2, -1, 0, 1, 2])
    two = tmp_path / "two.csv"
    two.write_text("1.0, 0\n-1.0, 0\n0, 1\n")
    pos, w = read_profile(two, 2.0)
    np.testing.assert_allclose(pos, [-1, 0, 1])
    np.testing.assert_allclose(w, [0, 1, 0])


@pytest.mark.parametrize("call,match", [
    (lambda: profile_matrix(10, 0.0, 2.0), "ratio must be a finite number > 0"),
    (lambda: profile_matrix(10, 2.0, -1.0), "width must be a finite number > 0"),
    (lambda: profile_matrix(10, 2.0, 2.0, "sinc"), "unknown slice profile 'sinc'"),
    (lambda: profile_matrix(10, 2.0, 2.0, "sampled"), "needs samples"),
    (lambda: thick_count(3, 4.0), "holds no slice"),
    (lambda: fine_count(0, 2.0), "m must be an integer >= 1"),
    (lambda: thick_affine(np.eye(3), 0, 10, 2.0), r"affine must be \(4, 4\)"),
    (lambda: fine_affine(np.eye(4), 3, 10, 2.0), "axis must be a voxel axis"),
    (lambda: profile_matrix(10, 2.0, 2.0, "sampled", ([0, 1], [0, 0])), "not all zero"),
])
def test_bad_arguments(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_profile_file(tmp_path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\n")
    with pytest.raises(ValueError, match="unreadable"):
        read_profile(bad, 2.0)
    short = tmp_path / "short.txt"
    short.write_text("1\n")
    with pytest.raises(ValueError, match=">= 2 rows"):
        read_profile(short, 2.0)
