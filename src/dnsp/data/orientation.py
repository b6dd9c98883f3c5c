"""The plane a volume is upscaled in, found from its affine (SPEC section 4).

:func:`choose_plane` finds the acquisition plane (SPEC section 4: the two voxel axes whose
spacings are most nearly equal, then the finer such pair, then anatomy: axial first, e.g. for
isotropic data) or takes a forced anatomical plane;
:func:`to_plane_stack` views the volume as slices of it. The rest of this module is about the
anatomical axial plane.

The SR plane is the axial plane: its two voxel axes are the ones closest to the world R-L and
A-P directions; the third (closest to S-I) indexes slices. Axial stacks are pure transpositions
of the volume (no flipping, no resampling), so the input's voxel order is kept in every output.

Convention: in an axial stack ``(N, H, W)``, N runs along the slice axis, H (rows) along the
voxel axis closest to A-P and W (columns) along the voxel axis closest to R-L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnsp.data.volume import voxel_sizes

__all__ = [
    "PLANES",
    "RATIO_TOLERANCE",
    "THICKNESS_TOLERANCE",
    "PlaneChoice",
    "acquisition_slice_axes",
    "axial_axes",
    "choose_plane",
    "from_axial_stack",
    "from_plane_stack",
    "plane_axes",
    "plane_of_slice_axis",
    "stack_permutation",
    "to_axial_stack",
    "to_plane_stack",
    "world_axes",
]


def axial_axes(affine: np.ndarray) -> tuple[int, int, int]:
    """Voxel axes of the axial plane.

    Each voxel axis is assigned to one world axis (R-L, A-P, S-I) by maximising the summed
    absolute direction cosines over the six one-to-one assignments, so oblique acquisitions
    are handled and no two voxel axes get the same world axis.

    Args:
        affine: (4, 4) voxel-to-world matrix (RAS+).

    Returns:
        ``(row_axis, col_axis, slice_axis)``: voxel axes closest to A-P, R-L and S-I.
    """
    a = np.asarray(affine, dtype=np.float64)
    if a.shape not in ((4, 4), (3, 3)):
        raise ValueError(f"affine must be (4, 4), got {a.shape}")
    rot = a[:3, :3]
    norms = np.linalg.norm(rot, axis=0)
    if np.any(norms <= 0) or not np.all(np.isfinite(rot)):
        raise ValueError("affine has a zero-length or non-finite voxel axis")
    cos = np.abs(rot / norms[None, :])  # cos[world, voxel]
    perms = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
    # best[w] = voxel axis assigned to world axis w
    best = max(perms, key=lambda p: (sum(cos[w, p[w]] for w in range(3)), p == (0, 1, 2)))
    rl, ap, si = best
    return int(ap), int(rl), int(si)


def stack_permutation(affine: np.ndarray) -> tuple[int, int, int]:
    """Transposition that maps the volume's voxel axes to ``(slice, row, col)``."""
    row, col, sl = axial_axes(affine)
    return sl, row, col


def to_axial_stack(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """View a volume as a stack of axial slices ``(N, H, W)`` (a transposition, no copy)."""
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise ValueError(f"data must be 3-D, got shape {tuple(arr.shape)}")
    return np.transpose(arr, stack_permutation(affine))


def from_axial_stack(stack: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`to_axial_stack` for the same affine (voxel order restored)."""
    arr = np.asarray(stack)
    if arr.ndim != 3:
        raise ValueError(f"stack must be 3-D (N, H, W), got shape {tuple(arr.shape)}")
    return np.transpose(arr, np.argsort(stack_permutation(affine)))


#: The anatomical planes a volume can be upscaled in (``--plane``).
PLANES = ("axial", "coronal", "sagittal")
#: Pixel areas (and voxel sizes) within this relative tolerance count as equal.
THICKNESS_TOLERANCE = 0.01
#: Spacing ratios within this factor of the smallest one count as equally square (SPEC 4).
RATIO_TOLERANCE = 1.1


def world_axes(affine: np.ndarray) -> tuple[int, int, int]:
    """Voxel axes closest to the world R-L, A-P and S-I axes (one each; oblique-safe)."""
    row, col, sl = axial_axes(affine)
    return col, row, sl


def plane_axes(affine: np.ndarray, plane: str) -> tuple[int, int, int]:
    """``(row_axis, col_axis, slice_axis)`` of an anatomical plane of the volume.

    Rows run along the vertical axis of the usual display of the plane and columns along its
    horizontal axis: axial (rows A-P, columns R-L; :func:`axial_axes`), coronal (rows S-I,
    columns R-L), sagittal (rows S-I, columns A-P). The slice axis is normal to the plane.

    Raises:
        ValueError: For a plane not in :data:`PLANES` or a degenerate affine.
    """
    rl, ap, si = world_axes(affine)
    if plane == "axial":
        return ap, rl, si
    if plane == "coronal":
        return si, rl, ap
    if plane == "sagittal":
        return si, ap, rl
    raise ValueError(f"unknown plane {plane!r}; valid: {', '.join(PLANES)}")


def plane_of_slice_axis(affine: np.ndarray, slice_axis: int) -> str:
    """The anatomical plane whose slices are indexed by voxel axis ``slice_axis``."""
    rl, ap, _ = world_axes(affine)
    return "sagittal" if slice_axis == rl else "coronal" if slice_axis == ap else "axial"


@dataclass(frozen=True)
class PlaneChoice:
    """The plane a 2-D method works in, and why.

    Attributes:
        plane: ``"axial"``, ``"coronal"`` or ``"sagittal"`` (for an oblique acquisition: the
            anatomical plane it is closest to).
        axes: ``(row_axis, col_axis, slice_axis)`` voxel axes (:func:`plane_axes`).
        reason: One line for the user: the voxel sizes and the rule that chose the plane.
        acquired: The acquisition plane found from the voxel sizes (equal to ``plane`` unless
            the user forced another one).
    """

    plane: str
    axes: tuple[int, int, int]
    reason: str
    acquired: str


def _mm(values: np.ndarray) -> str:
    return " x ".join(f"{v:.3g}" for v in values) + " mm"


def _pair_key(sizes: np.ndarray, pair: tuple[int, int]) -> tuple[float, float]:
    """``(r, area)`` of a pair of voxel axes: spacing ratio (>= 1) and pixel area (mm^2)."""
    a, b = float(sizes[pair[0]]), float(sizes[pair[1]])
    return max(a, b) / min(a, b), a * b


def acquisition_slice_axes(affine: np.ndarray) -> list[int]:
    """Slice axes of the candidate acquisition planes by the rule of SPEC section 4.

    For each pair of voxel axes take r = larger spacing / smaller spacing; the candidates are
    the pairs with r <= :data:`RATIO_TOLERANCE` x the smallest r; of those, the pairs with
    the finest spacings (smallest pixel area, within :data:`THICKNESS_TOLERANCE`). The
    returned voxel axes (the third axis of each remaining pair) are the slice axes that tie;
    :func:`choose_plane` breaks a tie by anatomy.
    """
    sizes = voxel_sizes(affine)
    pairs = [(0, 1), (0, 2), (1, 2)]
    keys = {p: _pair_key(sizes, p) for p in pairs}
    best_r = min(k[0] for k in keys.values())
    candidates = [p for p in pairs if keys[p][0] <= RATIO_TOLERANCE * best_r]
    finest = min(keys[p][1] for p in candidates)
    chosen = [p for p in candidates if keys[p][1] <= finest * (1.0 + THICKNESS_TOLERANCE)]
    return sorted(3 - sum(p) for p in chosen)


def choose_plane(affine: np.ndarray, plane: str = "auto") -> PlaneChoice:
    """The acquisition plane of a volume (SPEC section 4), or a forced plane.

    ``auto``: the plane of the two voxel axes whose spacings are most nearly equal (spacing
    ratios within :data:`RATIO_TOLERANCE` of the smallest one count as equal), then the finer
    such pair, then the anatomical order axial, coronal, sagittal (isotropic data: axial).
    So 0.5 x 4 x 0.5 mm works in the plane of its 0.5 mm pixels, 1 x 1 x 1.2 mm (MPRAGE) in
    the plane of its 1 x 1 mm pixels and 2 x 2 x 1 mm (a 1 mm head after ``dnsp degrade
    --scale 2``) in the plane of its 2 x 2 mm pixels, which gives the head's grid back.

    Args:
        affine: (4, 4) voxel-to-world matrix.
        plane: ``"auto"`` or one of :data:`PLANES`.

    Returns:
        The :class:`PlaneChoice`.

    Raises:
        ValueError: For an unknown plane or a degenerate affine.
    """
    if plane != "auto" and plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}; valid: auto, {', '.join(PLANES)}")
    a = np.asarray(affine, dtype=np.float64)
    axial_axes(a)  # validates the affine
    sizes = voxel_sizes(a)
    slice_axes = acquisition_slice_axes(a)
    by_anatomy = {plane_of_slice_axis(a, i): i for i in slice_axes}
    acquired = next(p for p in PLANES if p in by_anatomy)
    if sizes.max() <= sizes.min() * (1.0 + THICKNESS_TOLERANCE):
        why = f"isotropic voxels {_mm(sizes)}: anatomical axial plane"
    elif len(slice_axes) == 1:
        pix = [sizes[i] for i in range(3) if i != slice_axes[0]]
        why = (f"acquisition plane: voxels {_mm(sizes)}, the plane of the "
               f"{_mm(np.array(pix))} pixels (slices along the "
               f"{sizes[slice_axes[0]]:.3g} mm axis)")
    else:
        why = (f"voxels {_mm(sizes)}: {len(slice_axes)} planes alike, the {acquired} one "
               "taken (anatomical order)")
    if plane == "auto" or plane == acquired:
        return PlaneChoice(acquired, plane_axes(a, acquired), why if plane == "auto"
                           else f"--plane {plane}; {why}", acquired)
    return PlaneChoice(plane, plane_axes(a, plane),
                       f"--plane {plane}; not the acquisition plane ({acquired}, {why})",
                       acquired)


def to_plane_stack(data: np.ndarray, axes: tuple[int, int, int]) -> np.ndarray:
    """View a volume as slices ``(N, H, W)`` of the plane ``axes = (row, col, slice)``."""
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise ValueError(f"data must be 3-D, got shape {tuple(arr.shape)}")
    row, col, sl = axes
    return np.transpose(arr, (sl, row, col))


def from_plane_stack(stack: np.ndarray, axes: tuple[int, int, int]) -> np.ndarray:
    """Exact inverse of :func:`to_plane_stack` (the volume's voxel order restored)."""
    arr = np.asarray(stack)
    if arr.ndim != 3:
        raise ValueError(f"stack must be 3-D (N, H, W), got shape {tuple(arr.shape)}")
    row, col, sl = axes
    return np.transpose(arr, np.argsort((sl, row, col)))
