"""Before/after QC thumbnail of an upscaled volume (PNG, matplotlib's Agg renderer).

:func:`qc_figure` draws, through the centre of the output volume, the three orthogonal views
(axial, coronal, sagittal; rows) of the input shown with nearest-neighbour sampling, the input
resampled with cubic splines, and the output (columns), all on the output's voxel grid and
with the same intensity window, plus a fourth row: a crop of the centre of the axial view
at the output's resolution (each output voxel an integer block of screen pixels, at least
2 x 2, no resampling; the input columns cropped on the same output grid), so that the detail
the method added can be judged pixel by pixel. Views are taken in the closest RAS
orientation of the output (left of the image = subject's left, top = superior/anterior), at
physical aspect ratio. The input is sampled at the world position of every output voxel
(``inv(lr_affine) @ hr_affine``), so the figure is correct for any pair of grids, not only
for the in-plane upscaling of SPEC section 4.

The panels are composed into one grey-level mosaic (nearest-neighbour fitting of each view
into a square cell) drawn on a private :class:`~matplotlib.figure.Figure` with an Agg canvas
(no pyplot state, no display needed, safe in worker processes), labelled, and written
atomically. The picture is at least :data:`MIN_WIDTH` pixels wide (3 panels of 336 pixels
by default), readable at a glance.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import ndimage

from dnsp.data.volume import voxel_sizes
from dnsp.fsutil import atomic_path

__all__ = ["MIN_WIDTH", "qc_figure", "qc_views", "zoom_crop"]

_COLUMNS = ("input (nearest)", "input (cubic)", "output")
_ROWS = ("axial", "coronal", "sagittal", "axial crop")
#: Width in pixels that the default picture reaches at least.
MIN_WIDTH = 1000


def _canonical(affine: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(ornt, T)``: orientation to the closest RAS and the canonical-to-original voxel map."""
    import nibabel as nib

    ornt = nib.orientations.io_orientation(affine)
    return ornt, nib.orientations.inv_ornt_aff(ornt, shape)


def _plane_indices(shape: tuple[int, int, int], axis: int, index: int) -> np.ndarray:
    """Homogeneous canonical voxel coordinates (4, A, B) of plane ``index`` normal to ``axis``."""
    others = [a for a in range(3) if a != axis]
    grid = np.meshgrid(np.arange(shape[others[0]]), np.arange(shape[others[1]]), indexing="ij")
    coords = np.zeros((4, *grid[0].shape))
    coords[others[0]] = grid[0]
    coords[others[1]] = grid[1]
    coords[axis] = index
    coords[3] = 1.0
    return coords


def qc_views(
    lr_data: np.ndarray, lr_affine: np.ndarray, hr_data: np.ndarray, hr_affine: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """The three centre views of :func:`qc_figure` as arrays.

    Returns:
        ``{view: (input_nearest, input_cubic, output, aspect)}`` for ``axial``, ``coronal``
        and ``sagittal``; each image is 2-D (rows = vertical screen axis, top row first) on
        the output's voxel grid; ``aspect`` is the height / width of one pixel in mm.

    Raises:
        ValueError: If the volumes are not 3-D or the affines not (4, 4).
    """
    lr = np.asarray(lr_data, dtype=np.float32)
    hr = np.asarray(hr_data, dtype=np.float32)
    lr_aff, hr_aff = np.asarray(lr_affine, float), np.asarray(hr_affine, float)
    if lr.ndim != 3 or hr.ndim != 3:
        raise ValueError(f"expected 3-D volumes, got shapes {lr.shape} and {hr.shape}")
    if lr_aff.shape != (4, 4) or hr_aff.shape != (4, 4):
        raise ValueError("affines must be (4, 4)")
    import nibabel as nib

    ornt, to_orig = _canonical(hr_aff, hr.shape)
    canon = nib.orientations.apply_orientation(hr, ornt)
    zooms = voxel_sizes(hr_aff @ to_orig)
    to_lr = np.linalg.inv(lr_aff) @ hr_aff @ to_orig
    views = {}
    # view: (normal axis, horizontal axis, vertical axis) in RAS voxel axes
    for name, axis, horiz, vert in (("axial", 2, 0, 1), ("coronal", 1, 0, 2),
                                    ("sagittal", 0, 1, 2)):
        index = canon.shape[axis] // 2
        coords = _plane_indices(canon.shape, axis, index)
        lr_coords = np.tensordot(to_lr, coords, axes=(1, 0))[:3]
        near = ndimage.map_coordinates(lr, np.rint(lr_coords), order=0, mode="nearest")
        cubic = _cubic_plane(lr, lr_coords)
        out = canon[(slice(None),) * axis + (index,)]  # a view (np.take copies it all)
        # arrays are indexed (horiz, vert) in canonical order: show vert upwards
        flipped = [np.flipud(a.T) for a in (near, cubic, out)]
        views[name] = (*flipped, float(zooms[vert] / zooms[horiz]))
    return views  # type: ignore[return-value]


def _cubic_plane(volume: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Cubic-spline samples of ``volume`` at ``coords`` (3, ...), prefiltering only the block
    the samples need (a thin slab for a plane: a full-head volume is never filtered whole)."""
    margin = 6  # the spline prefilter's influence decays by ~0.27 per voxel
    lo = np.clip(np.floor(coords.reshape(3, -1).min(axis=1)).astype(int) - margin, 0, None)
    hi = np.minimum(np.ceil(coords.reshape(3, -1).max(axis=1)).astype(int) + margin + 1,
                    volume.shape)
    lo = np.minimum(lo, np.asarray(volume.shape) - 1)
    block = volume[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    shifted = coords - lo.reshape(3, *([1] * (coords.ndim - 1)))
    return ndimage.map_coordinates(block, shifted, order=3, mode="nearest")


def _window(images: list[np.ndarray]) -> tuple[float, float]:
    values = np.concatenate([im.ravel() for im in images])
    lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.5]))
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def zoom_crop(images: tuple[np.ndarray, ...], cell: int) -> tuple[list[np.ndarray], int]:
    """Centre crops of same-shaped images at the output's resolution, and the magnification.

    Each output pixel becomes a ``k x k`` block of screen pixels (``k`` >= 2, integer: no
    resampling); the crop is the largest centred box that fits a ``cell`` square at ``k``.

    Returns:
        ``(crops magnified by k, k)``.
    """
    h, w = images[0].shape
    k = max(2, cell // max(1, min(h, w)))
    ch, cw = min(h, max(1, cell // k)), min(w, max(1, cell // k))
    r0, c0 = (h - ch) // 2, (w - cw) // 2
    block = np.ones((k, k), np.float32)
    return [np.kron(img[r0:r0 + ch, c0:c0 + cw], block) for img in images], k


def _fit(image: np.ndarray, aspect: float, cell: int) -> np.ndarray:
    """Nearest-neighbour resampling of ``image`` to fit a ``cell`` square at physical aspect."""
    h, w = image.shape
    height_mm, width_mm = h * aspect, float(w)
    zoom = cell / max(height_mm, width_mm)
    new_h = max(1, min(cell, round(height_mm * zoom)))
    new_w = max(1, min(cell, round(width_mm * zoom)))
    rows = np.minimum((np.arange(new_h) + 0.5) * h / new_h, h - 1).astype(int)
    cols = np.minimum((np.arange(new_w) + 0.5) * w / new_w, w - 1).astype(int)
    return image[np.ix_(rows, cols)]


def qc_figure(
    lr_data: np.ndarray,
    lr_affine: np.ndarray,
    hr_data: np.ndarray,
    hr_affine: np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    panel_inches: float = 4.2,
    dpi: int = 80,
) -> Path:
    """Write the before/after PNG of an input volume and its upscaled output.

    Args:
        lr_data: Input volume (X, Y, Z) in its voxel order and units.
        lr_affine: Its (4, 4) voxel-to-world matrix.
        hr_data: Output volume, any grid covering the same field of view.
        hr_affine: Its (4, 4) matrix.
        path: Output ``.png`` path (its folder must exist); written atomically.
        title: Optional line above the panels (e.g. the file name and method).
        panel_inches: Size of one panel; with ``dpi`` it sets the picture's size (default:
            3 x 4 panels of 336 pixels, 1028 pixels wide; each view fitted at physical
            aspect, the crop row at the output's resolution).
        dpi: Resolution of the PNG.

    Returns:
        ``path``.

    Raises:
        ValueError: Volumes not 3-D, affines not (4, 4), or a path not ending in ``.png``.
        InputError: Missing or unwritable output folder.
    """
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise ValueError(f"QC figure path must end in .png: {out}")
    views = qc_views(lr_data, lr_affine, hr_data, hr_affine)
    lo, hi = _window([img for v in views.values() for img in v[:3]])
    rows = [views["axial"], views["coronal"], views["sagittal"]]
    cell = max(16, round(panel_inches * dpi))
    crops, magnification = zoom_crop(views["axial"][:3], cell)
    font = max(6.5, cell / 30)
    gap, left, top = 2, round(2.2 * font), round(2.2 * font) * (2 if title else 1)
    mosaic = np.zeros((top + 4 * (cell + gap), left + 3 * (cell + gap)), np.float32)
    for r, images in enumerate([*rows, (*crops, None)]):
        for c in range(3):
            scaled = np.clip((images[c] - lo) / (hi - lo), 0.0, 1.0)
            tile = scaled[:cell, :cell] if images[3] is None else _fit(scaled, images[3], cell)
            y0 = top + r * (cell + gap) + (cell - tile.shape[0]) // 2
            x0 = left + c * (cell + gap) + (cell - tile.shape[1]) // 2
            mosaic[y0:y0 + tile.shape[0], x0:x0 + tile.shape[1]] = tile
    # one axes holding the whole mosaic: ~10x faster than 12 matplotlib axes
    h, w = mosaic.shape
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="black")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    text = {"color": "white", "fontsize": font * 72 / dpi, "ha": "center", "va": "center"}
    if title:
        ax.text(w / 2, top / 4, title, **text)
    for c, name in enumerate(_COLUMNS):
        ax.text(left + c * (cell + gap) + cell / 2, top - left / 2, name, **text)
    names = (*_ROWS[:3], f"{_ROWS[3]} ({magnification}x, output pixels)")
    for r, name in enumerate(names):
        ax.text(left / 2, top + r * (cell + gap) + cell / 2, name, rotation=90, **text)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", facecolor="black", dpi=dpi)
    return out
