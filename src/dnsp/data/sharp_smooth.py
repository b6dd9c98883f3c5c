"""Sharp and smooth training patches (paper Sec. III, SPEC section 3).

From each training image the P x P patch with the largest and the one with the smallest
squared Frobenius norm of its (valid) Laplacian response ``||L * patch||_F^2`` is taken.
Candidates are restricted to mostly-foreground patches (>= 90% of pixels above the background
threshold). The paper's visual inspection becomes an automatic outlier rule: a pair is dropped
when the log Laplacian energy of its sharp or of its smooth patch lies more than 3.5 robust
z-scores (median / 1.4826 MAD) from the median over all images. N_T <= number of images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from dnsp.data.patches import box_sum
from dnsp.data.slicing import FG_THRESHOLD

__all__ = [
    "PATCH_FOREGROUND_RULE",
    "SharpSmooth",
    "laplacian_energy_map",
    "outlier_mask",
    "select_sharp_smooth",
    "write_contact_sheet",
]

#: Minimum foreground fraction of a sharp/smooth candidate patch.
PATCH_FOREGROUND_RULE = 0.9
#: Robust z-score beyond which a selected patch is an outlier.
OUTLIER_Z = 3.5

_LAPLACIAN = np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


@dataclass
class SharpSmooth:
    """Selected patches and where they came from.

    Attributes:
        sharp: (N_T, P, P) float32 sharpest patches.
        smooth: (N_T, P, P) float32 smoothest patches.
        sharp_origin: (N_T, 3) rows (image index, top, left).
        smooth_origin: (N_T, 3) rows (image index, top, left).
        sharp_energy: (N_T,) Laplacian energies of the sharp patches.
        smooth_energy: (N_T,) Laplacian energies of the smooth patches.
        dropped: Image indices removed by the outlier rule or lacking a foreground candidate.
    """

    sharp: np.ndarray
    smooth: np.ndarray
    sharp_origin: np.ndarray
    smooth_origin: np.ndarray
    sharp_energy: np.ndarray
    smooth_energy: np.ndarray
    dropped: list[int]


def laplacian_energy_map(image: np.ndarray, patch: int) -> np.ndarray:
    """``||L * patch||_F^2`` of every ``patch`` x ``patch`` window (valid Laplacian inside it).

    Entry (i, j) is the energy of the window with top-left corner (i, j); shape
    (H - patch + 1, W - patch + 1).
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < patch or patch < 3:
        raise ValueError(f"need a 2-D image of at least {patch}x{patch} (patch >= 3), got "
                         f"{img.shape}")
    lap = ndimage.correlate(img, _LAPLACIAN, mode="constant")[1:-1, 1:-1]  # valid part
    return box_sum(lap * lap, patch - 2)


def _robust_z(values: np.ndarray) -> np.ndarray:
    med = np.median(values)
    mad = np.median(np.abs(values - med)) * 1.4826
    if mad <= 0:
        return np.zeros_like(values)
    return (values - med) / mad


def outlier_mask(sharp: np.ndarray, smooth: np.ndarray, z: float = OUTLIER_Z) -> np.ndarray:
    """Pairs to keep: both log Laplacian energies within ``z`` robust z-scores of the median.

    Args:
        sharp: (N, P, P) or (N, 1, P, P) sharp patches.
        smooth: Matching smooth patches.
        z: Robust z-score limit.

    Returns:
        Boolean mask (N,); all True for fewer than 3 pairs.
    """
    sh = np.asarray(sharp, dtype=np.float64).reshape(len(sharp), *np.shape(sharp)[-2:])
    sm = np.asarray(smooth, dtype=np.float64).reshape(len(smooth), *np.shape(smooth)[-2:])
    if sh.shape[0] < 3:
        return np.ones(sh.shape[0], dtype=bool)
    p = sh.shape[-1]
    e_hi = np.array([laplacian_energy_map(x, p)[0, 0] for x in sh])
    e_lo = np.array([laplacian_energy_map(x, p)[0, 0] for x in sm])
    return ((np.abs(_robust_z(np.log(e_hi + 1e-12))) <= z)
            & (np.abs(_robust_z(np.log(e_lo + 1e-12))) <= z))


def select_sharp_smooth(
    images: np.ndarray, patch: int = 40, threshold: float = FG_THRESHOLD,
    min_foreground: float = PATCH_FOREGROUND_RULE, outlier_z: float | None = OUTLIER_Z,
) -> SharpSmooth:
    """Select one sharpest and one smoothest mostly-foreground patch per image (SPEC sec. 3).

    Args:
        images: Training images (N, H, W) scaled to [0, 1] (the HR targets).
        patch: P (40 in the paper).
        threshold: Background threshold on intensities.
        min_foreground: Minimum foreground fraction of a candidate patch.
        outlier_z: Robust z-score limit on log energies; ``None`` keeps every pair.

    Returns:
        The :class:`SharpSmooth` selection (N_T <= N).
    """
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got shape {tuple(imgs.shape)}")
    need = min_foreground * patch * patch
    rows: list[tuple[int, tuple[int, int], float, tuple[int, int], float]] = []
    dropped: list[int] = []
    for n in range(imgs.shape[0]):
        if min(imgs.shape[1:]) < patch:
            dropped.append(n)
            continue
        energy = laplacian_energy_map(imgs[n], patch)
        ok = box_sum(imgs[n] > threshold, patch) + 1e-9 >= need
        if not ok.any():
            dropped.append(n)
            continue
        e_hi = np.where(ok, energy, -np.inf)
        e_lo = np.where(ok, energy, np.inf)
        hi = np.unravel_index(int(np.argmax(e_hi)), energy.shape)
        lo = np.unravel_index(int(np.argmin(e_lo)), energy.shape)
        rows.append((n, (int(hi[0]), int(hi[1])), float(energy[hi]),
                     (int(lo[0]), int(lo[1])), float(energy[lo])))
    if outlier_z is not None and len(rows) >= 3:
        z_hi = _robust_z(np.log(np.array([r[2] for r in rows]) + 1e-12))
        z_lo = _robust_z(np.log(np.array([r[4] for r in rows]) + 1e-12))
        keep = (np.abs(z_hi) <= outlier_z) & (np.abs(z_lo) <= outlier_z)
        dropped.extend(r[0] for r, k in zip(rows, keep, strict=True) if not k)
        rows = [r for r, k in zip(rows, keep, strict=True) if k]

    def cut(n: int, ij: tuple[int, int]) -> np.ndarray:
        return imgs[n, ij[0]:ij[0] + patch, ij[1]:ij[1] + patch]

    if rows:
        sharp = np.stack([cut(r[0], r[1]) for r in rows])
        smooth = np.stack([cut(r[0], r[3]) for r in rows])
    else:
        sharp = np.zeros((0, patch, patch), np.float32)
        smooth = sharp.copy()
    return SharpSmooth(
        sharp=sharp.astype(np.float32),
        smooth=smooth.astype(np.float32),
        sharp_origin=np.array([(r[0], *r[1]) for r in rows], np.int64).reshape(-1, 3),
        smooth_origin=np.array([(r[0], *r[3]) for r in rows], np.int64).reshape(-1, 3),
        sharp_energy=np.array([r[2] for r in rows], np.float64),
        smooth_energy=np.array([r[4] for r in rows], np.float64),
        dropped=sorted(dropped),
    )


def write_contact_sheet(
    sharp: np.ndarray, smooth: np.ndarray, path: str | os.PathLike[str], max_columns: int = 16
) -> Path:
    """Write a PNG with the sharp patches (upper rows) and smooth patches (lower rows).

    Each patch is shown on [0, 1] grey levels; the file is written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dnsp.fsutil import atomic_path

    sh = np.asarray(sharp)
    sm = np.asarray(smooth)
    if sh.ndim == 4:
        sh = sh[:, 0]
    if sm.ndim == 4:
        sm = sm[:, 0]
    n = max(sh.shape[0], sm.shape[0])
    if n == 0:
        raise ValueError("no patches to draw")
    cols = min(n, max_columns)
    block = -(-n // cols)
    fig, axes = plt.subplots(2 * block, cols, figsize=(cols * 1.0, 2 * block * 1.0 + 0.4),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for group, patches in enumerate((sh, sm)):
        for k in range(patches.shape[0]):
            ax = axes[group * block + k // cols, k % cols]
            ax.imshow(patches[k], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.suptitle(f"sharp (top {block} row(s)) and smooth (bottom) patches, N_T = {n}",
                 fontsize=8)
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    return out
