"""Slice selection, patch extraction and sharp/smooth selection (SPEC sections 3-4)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from dnsp.data.patches import box_sum, extract_patch_pairs, patch_grid
from dnsp.data.sharp_smooth import (
    laplacian_energy_map,
    select_sharp_smooth,
    write_contact_sheet,
)
from dnsp.data.slicing import central_slices, slab_layout

LAP = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], float)


def test_patch_grid_covers_borders():
    grid = patch_grid(10, 7, 4, 3)
    rows = sorted({i for i, _ in grid})
    cols = sorted({j for _, j in grid})
    assert rows == [0, 3, 6] and cols == [0, 3]
    assert patch_grid(3, 10, 4, 2) == []


def test_box_sum_matches_brute_force():
    a = np.random.default_rng(0).random((9, 7))
    got = box_sum(a, 3)
    ref = np.array([[a[i:i + 3, j:j + 3].sum() for j in range(5)] for i in range(7)])
    np.testing.assert_allclose(got, ref)


def test_extract_patch_pairs_skips_background():
    y = np.zeros((2, 12, 12), np.float32)
    y[0, :6, :6] = 1.0  # only the top-left patch of image 0 has foreground
    x = y * 0.5
    xp, _yp, origin = extract_patch_pairs(x, y, 6, 6, min_foreground=0.1)
    assert origin.tolist() == [[0, 0, 0]]
    np.testing.assert_array_equal(xp[0], x[0, :6, :6])
    xp, _, origin = extract_patch_pairs(x, y, 6, 6, min_foreground=0.0)
    assert xp.shape == (8, 6, 6)
    with pytest.raises(ValueError):
        extract_patch_pairs(x, y[:1], 6, 6)


def test_laplacian_energy_map_matches_direct_computation():
    img = np.random.default_rng(2).random((11, 13))
    emap = laplacian_energy_map(img, 5)
    for i, j in [(0, 0), (3, 4), (6, 8)]:
        patch = img[i:i + 5, j:j + 5]
        lap = ndimage.correlate(patch, LAP)[1:-1, 1:-1]
        assert emap[i, j] == pytest.approx((lap**2).sum())


def test_select_sharp_smooth_finds_textured_and_flat_foreground(tmp_path):
    rng = np.random.default_rng(3)
    imgs = np.zeros((4, 32, 32), np.float32)
    imgs[:, 4:28, 4:28] = 0.5  # foreground square, flat
    imgs[:, 18:26, 18:26] += rng.random((4, 8, 8)).astype(np.float32) * 0.4  # texture
    sel = select_sharp_smooth(imgs, patch=8, outlier_z=None)
    assert sel.sharp.shape == sel.smooth.shape == (4, 8, 8)
    for n, i, j in sel.smooth_origin:
        assert (imgs[n, i:i + 8, j:j + 8] > 0.1).mean() >= 0.9  # foreground rule
        assert np.ptp(imgs[n, i:i + 8, j:j + 8]) == 0  # flat
    for _, i, j in sel.sharp_origin:
        assert 10 <= i <= 26 and 10 <= j <= 26  # overlaps the texture
    assert np.all(sel.sharp_energy > sel.smooth_energy)
    # a background-only image yields no candidate and is dropped
    imgs2 = np.concatenate([imgs, np.zeros((1, 32, 32), np.float32)])
    assert select_sharp_smooth(imgs2, patch=8, outlier_z=None).dropped == [4]
    png = write_contact_sheet(sel.sharp, sel.smooth, tmp_path / "sheet.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outlier_rule_drops_an_extreme_pair():
    rng = np.random.default_rng(4)
    imgs = np.full((8, 16, 16), 0.5, np.float32) + rng.random((8, 16, 16)).astype(
        np.float32) * 0.05
    imgs[5] = 0.5 + rng.random((16, 16)).astype(np.float32) * 0.5  # much sharper image
    kept = select_sharp_smooth(imgs, patch=8)
    assert 5 in kept.dropped and kept.sharp.shape[0] == 7


def test_central_slices_and_slabs():
    stack = np.zeros((60, 10, 10), np.float32)
    stack[10:50, 2:8, 2:8] = 1.0
    idx = central_slices(stack, 20)
    assert idx.tolist() == list(range(20, 40))
    assert central_slices(stack, 100).tolist() == list(range(10, 50))
    # a long neck below the brain: only the top 130 mm set the centre
    neck = np.zeros((100, 10, 10), np.float32)
    neck[0:90, 3:7, 3:7] = 1.0  # 90 slices of neck (16% foreground)
    neck[50:90, 1:9, 1:9] = 1.0  # 40 slices of "brain" (64% foreground) at the top
    # top 130 mm = slices 25-89: centre (0.16 * sum(25..49) + 0.64 * sum(50..89)) / 29.6
    up = central_slices(neck, 20, slice_mm=2.0)
    assert up.tolist() == list(range(55, 75))
    assert central_slices(neck, 20)[0] == 49  # whole head: pulled down by the neck
    down = central_slices(neck[::-1].copy(), 20, slice_mm=2.0, superior_is_high=False)
    assert down.tolist() == list(range(24, 44))  # slices 10-74: centre 33.9
    lay = slab_layout(stack, 15, 4)
    assert len(lay.train) == len(lay.test) == 15 and len(lay.val) == 4
    assert lay.test[0] - lay.train[-1] - 1 >= 10
    assert max(lay.train) < min(lay.val) <= max(lay.val) < min(lay.test)
    short = slab_layout(np.ones((30, 4, 4), np.float32), 40, 0)
    assert len(short.train) == 10 and short.test[0] - short.train[-1] - 1 >= 10
