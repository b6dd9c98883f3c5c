"""Before/after QC thumbnail of an upscaled volume (PNG, matplotlib's Agg renderer).

:func:`qc_figure` draws, through the centre of the output volume, the three orthogonal views
(axial, coronal, sagittal; rows) of the input shown with nearest-neighbour sampling, the input
resampled with cubic splines, and the output (columns), all on the output's voxel grid and
with the same intensity window, plus a fourth row: a 2x zoomed inset of the centre of the
axial view. Views are taken in the closest RAS orientation of the output (left of the image =
subject's left, top = superior/anterior), at physical aspect ratio. The input is sampled at
the world position of every output voxel (``inv(lr_affine) @ hr_affine``), so the figure is
correct for any pair of grids, not only for the in-plane upscaling of SPEC section 4.

The panels are composed into one grey-level mosaic (nearest-neighbour fitting of each view
into a square cell) drawn on a private :class:`~matplotlib.figure.Figure` with an Agg canvas
(no pyplot state, no display needed, safe in worker processes), labelled, and written
atomically; 0.1-0.4 s for a small volume, about 2 s for a 1 mm head (docs/bids.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import ndimage

from dnsp.fsutil import atomic_path

__all__ = ["qc_figure", "qc_views"]

_COLUMNS = ("input (nearest)", "input (cubic)", "output")
_ROWS = ("axial", "coronal", "sagittal", "axial zoom")


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
    zooms = np.sqrt(((hr_aff @ to_orig)[:3, :3] ** 2).sum(axis=0))
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


def _zoom_box(shape: tuple[int, int]) -> tuple[slice, slice]:
    """The centre half (along both screen axes) of an image: a 2x zoom."""
    h, w = shape
    dh, dw = max(1, h // 4), max(1, w // 4)
    return slice(h // 2 - dh, h // 2 + dh + h % 2), slice(w // 2 - dw, w // 2 + dw + w % 2)


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
    panel_inches: float = 1.6,
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
        panel_inches: Size of one panel; with ``dpi`` it sets the thumbnail size
            (default: 3 x 4 panels of 128 pixels, each view fitted at physical aspect).
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
    ax_images = views["axial"]
    box = _zoom_box(ax_images[2].shape)
    rows.append((*(img[box] for img in ax_images[:3]), ax_images[3]))
    cell = max(16, round(panel_inches * dpi))
    gap, left, top = 2, 14, 14 + (12 if title else 0)
    mosaic = np.zeros((top + 4 * (cell + gap), left + 3 * (cell + gap)), np.float32)
    for r, images in enumerate(rows):
        for c in range(3):
            tile = _fit(np.clip((images[c] - lo) / (hi - lo), 0.0, 1.0), images[3], cell)
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
    text = {"color": "white", "fontsize": 6.5, "ha": "center", "va": "center"}
    if title:
        ax.text(w / 2, 6, title, **text)
    for c, name in enumerate(_COLUMNS):
        ax.text(left + c * (cell + gap) + cell / 2, top - 7, name, **text)
    for r, name in enumerate(_ROWS):
        ax.text(7, top + r * (cell + gap) + cell / 2, name, rotation=90, **text)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", facecolor="black", dpi=dpi)
    return out
