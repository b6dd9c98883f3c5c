"""qc_figure / qc_views: orientation of the views, sampling of the input, the PNG file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from dnsp.data.degradation import bicubic_upscale_volume
from dnsp.errors import InputError
from dnsp.infer.qc import qc_figure, qc_views

RAS = np.diag([1.0, 1.0, 2.0, 1.0])


def _psr_affine() -> np.ndarray:
    """Sagittal voxel order (axis 0 -> P, 1 -> S, 2 -> R), slightly rotated, anisotropic."""
    c, s = np.cos(0.1), np.sin(0.1)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    perm = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ perm @ np.diag([1.2, 2.0, 0.9])
    return aff


def _blob(shape: tuple[int, int, int]) -> np.ndarray:
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    return (1000.0 * np.exp(-2.0 * sum(g**2 for g in grids))).astype(np.float32)


def _marked() -> np.ndarray:
    """16 x 16 x 8 RAS volume, dim background, a bright block right-anterior-superior."""
    vol = np.full((16, 16, 8), 10.0, np.float32)
    vol[8:, 8:, 4:] = 100.0  # the right-anterior-superior octant
    return vol


def _pair(lr: np.ndarray, aff: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    hr, hr_aff = bicubic_upscale_volume(lr, aff, 2)
    return lr, aff, hr, hr_aff


def test_views_are_neurologically_oriented_and_on_the_output_grid() -> None:
    views = qc_views(*_pair(_marked(), RAS))
    near, cubic, out, aspect = views["axial"]
    assert near.shape == cubic.shape == out.shape == (32, 32)  # (A rows, R columns)
    assert aspect == pytest.approx(1.0)
    # top-right of the axial view = anterior-right, where the block is
    assert near[0, -1] == 100.0 and near[-1, 0] == 10.0
    assert out[:8, -8:].mean() > 80.0 and out[-8:, :8].mean() < 20.0
    # nearest sampling reproduces each LR voxel as a 2x2 block
    np.testing.assert_array_equal(near[::2, ::2], near[1::2, 1::2])
    cor = views["coronal"]
    assert cor[2].shape == (8, 32) and cor[3] == pytest.approx(4.0)  # 2 mm / 0.5 mm
    assert cor[0][0, -1] == 100.0 and cor[0][-1, -1] == 10.0  # top = superior, right = R
    sag = views["sagittal"]
    assert sag[2].shape == (8, 32) and sag[0][0, -1] == 100.0  # right = anterior


def test_views_do_not_depend_on_the_voxel_order() -> None:
    """The same head stored left-to-right flipped gives the same pictures."""
    lr = _marked()
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip[0, 3] = 15.0  # voxel i -> x = 15 - i: same world positions
    a = qc_views(*_pair(lr, RAS))
    b = qc_views(*_pair(lr[::-1].copy(), RAS @ flip))
    for name in a:
        for ia, ib in zip(a[name][:3], b[name][:3], strict=True):
            np.testing.assert_allclose(ia, ib, atol=1e-3)


def test_cubic_column_is_smooth_and_matches_constant() -> None:
    lr = np.full((8, 8, 4), 7.0, np.float32)
    near, cubic, out, _ = qc_views(*_pair(lr, RAS))["axial"]
    np.testing.assert_allclose(cubic, 7.0, atol=1e-4)
    np.testing.assert_allclose(near, 7.0)
    np.testing.assert_allclose(out, 7.0, atol=1e-4)


def test_png_written_atomically(tmp_path: Path) -> None:
    pair = _pair(_blob((24, 6, 24)), _psr_affine())
    path = qc_figure(*pair, tmp_path / "qc.png", title="sub-01_T1w bicubic x2")
    assert path == tmp_path / "qc.png"
    img = imread(path)
    assert img.shape[0] > img.shape[1] >= 1000  # 4 rows x 3 columns of panels, readable
    assert img[..., :3].std() > 0.05  # something drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qc.png"]


def test_bad_arguments(tmp_path: Path) -> None:
    pair = _pair(_marked(), RAS)
    with pytest.raises(ValueError, match=r"\.png"):
        qc_figure(*pair, tmp_path / "qc.jpg")
    with pytest.raises(ValueError, match="3-D"):
        qc_figure(pair[0][..., 0], RAS, pair[2], pair[3], tmp_path / "qc.png")
    with pytest.raises(InputError, match="does not exist"):
        qc_figure(*pair, tmp_path / "missing" / "qc.png")
    assert list(tmp_path.iterdir()) == []


def test_crop_row_is_at_the_output_resolution() -> None:
    """Each output pixel of the crop is an exact k x k block (k >= 2): no resampling."""
    from dnsp.infer.qc import zoom_crop

    rng = np.random.default_rng(1)
    image = rng.random((200, 150)).astype(np.float32)
    (crop,), k = zoom_crop((image,), 336)
    assert k == 2 and crop.shape == (336, 300)
    np.testing.assert_array_equal(crop[::2, ::2], crop[1::2, 1::2])
    np.testing.assert_array_equal(crop[::2, ::2], image[16:184, :])
    small = rng.random((20, 30)).astype(np.float32)
    (crop,), k = zoom_crop((small,), 336)
    assert k == 16 and crop.shape == (320, 336)
