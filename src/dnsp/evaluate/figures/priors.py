"""Figures of the priors and of training (paper Figs. 2, 3, 8, 9)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dnsp.evaluate.figures._common import PathLike, image2d, new_figure, save_png, show_image
from dnsp.metrics import psnr
from dnsp.ops import LAPLACIAN_KERNEL, filter2d_valid, gaussian_blur2d, laplacian

__all__ = [
    "fig2_rank_psnr",
    "fig3_laplacian_variance",
    "fig8_learned_filters",
    "fig9_validation_curves",
    "laplacian_variance_curve",
    "rank_psnr_curve",
]


# --- Fig. 2 -------------------------------------------------------------------------------------


def rank_psnr_curve(image: np.ndarray, ranks: Sequence[int], data_range: float = 1.0) -> np.ndarray:
    """PSNR of the truncated-SVD reconstruction of ``image`` at each rank (paper Fig. 2).

    The rank-k image keeps the k largest singular values and zeroes the others. The full rank
    reproduces the image up to rounding (PSNR of ~300 dB or ``inf``).
    """
    x = image2d(image)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    out = []
    for k in ranks:
        if not 0 <= int(k) <= s.size:
            raise ValueError(f"rank {k} outside 0..{s.size}")
        rec = (u[:, :k] * s[:k]) @ vt[:k]
        out.append(psnr(rec, x, data_range))
    return np.asarray(out, dtype=np.float64)


def fig2_rank_psnr(
    image: np.ndarray,
    out: PathLike,
    ranks: Sequence[int] | None = None,
    show_ranks: Sequence[int] | None = None,
) -> Path:
    """Fig. 2: low-rank reconstructions of a slice and their PSNR against the rank.

    Args:
        image: One HR slice (H, W) on the [0, 1] scale.
        out: Output PNG.
        ranks: Ranks of the curve (default: 1 .. min(H, W) - 1, up to 60 points).
        show_ranks: Ranks shown as images (default: four ranks from 10% to 70% of full rank).
    """
    x = image2d(image)
    full = min(x.shape)
    if ranks is None:
        ranks = np.unique(np.linspace(1, full - 1, min(60, full - 1)).round().astype(int)).tolist()
    if show_ranks is None:
        show_ranks = sorted({max(1, round(f * full)) for f in (0.1, 0.3, 0.5, 0.7)})
    curve = rank_psnr_curve(x, ranks)
    shown = rank_psnr_curve(x, show_ranks)
    n_img = len(show_ranks) + 1
    fig = new_figure(2.2 * n_img, 5.2)
    gs = fig.add_gridspec(2, n_img, height_ratios=[1.0, 1.1])
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    ax = fig.add_subplot(gs[0, 0])
    show_image(ax, x)
    ax.set_title(f"original (rank {full})", fontsize=9)
    for i, (k, p) in enumerate(zip(show_ranks, shown, strict=True), start=1):
        ax = fig.add_subplot(gs[0, i])
        show_image(ax, (u[:, :k] * s[:k]) @ vt[:k])
        ax.set_title(f"rank {k}: {p:.1f} dB", fontsize=9)
    ax = fig.add_subplot(gs[1, :])
    finite = np.isfinite(curve)
    ax.plot(np.asarray(ranks)[finite], curve[finite], marker=".", lw=1)
    ax.set_xlabel("rank of the reconstruction")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    return save_png(fig, out)


# --- Fig. 3 -------------------------------------------------------------------------------------


def laplacian_variance_curve(image: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    """Unbiased variance of the valid Laplacian response of the blurred image per sigma (Fig. 3).

    Blur: :func:`dnsp.ops.gaussian_blur2d` (sigma 0 keeps the image); Laplacian:
    :func:`dnsp.ops.laplacian` (the filter L of SPEC section 1, valid padding).
    """
    x = torch.as_tensor(image2d(image))
    out = []
    for sg in sigmas:
        if sg < 0:
            raise ValueError(f"blur sigma must be >= 0, got {sg}")
        y = gaussian_blur2d(x, float(sg)) if sg > 0 else x
        out.append(float(laplacian(y[None]).var(unbiased=True)))
    return np.asarray(out, dtype=np.float64)


def fig3_laplacian_variance(
    image: np.ndarray,
    out: PathLike,
    sigmas: Sequence[float] | None = None,
    show_sigmas: Sequence[float] = (0.0, 1.0, 2.0, 3.0),
) -> Path:
    """Fig. 3: variance of the Laplacian against the Gaussian blur parameter.

    Args:
        image: One HR slice (H, W).
        out: Output PNG.
        sigmas: Blur standard deviations of the curve, in pixels (default 0 .. 4 by 0.25).
        show_sigmas: Blur levels shown as images above the curve.
    """
    x = image2d(image)
    if sigmas is None:
        sigmas = np.arange(0.0, 4.01, 0.25).tolist()
    curve = laplacian_variance_curve(x, sigmas)
    shown = laplacian_variance_curve(x, show_sigmas)
    n = len(show_sigmas)
    fig = new_figure(2.2 * max(n, 2), 5.0)
    gs = fig.add_gridspec(2, max(n, 1), height_ratios=[1.0, 1.1])
    xt = torch.as_tensor(x)
    for i, (sg, v) in enumerate(zip(show_sigmas, shown, strict=True)):
        ax = fig.add_subplot(gs[0, i])
        img = gaussian_blur2d(xt, float(sg)).numpy() if sg > 0 else x
        show_image(ax, img)
        ax.set_title(f"blur sigma {sg:g} px\nvar {v:.2e}", fontsize=10)
    ax = fig.add_subplot(gs[1, :])
    ax.plot(sigmas, curve, marker="o", ms=3)
    ax.set_yscale("log")
    ax.set_xlabel("Gaussian blur sigma (pixels)")
    ax.set_ylabel("variance of the Laplacian")
    ax.grid(alpha=0.3, which="both")
    return save_png(fig, out)


# --- Fig. 8 -------------------------------------------------------------------------------------


#: Filters per row of Fig. 8 (the figure wraps to further rows).
_FIG8_COLUMNS = 5


def fig8_learned_filters(
    filters: np.ndarray | torch.Tensor, image: np.ndarray, out: PathLike
) -> Path:
    """Fig. 8: the learned sharpness filters (coefficients) and their responses vs L.

    Top row: absolute responses |W_l * Y| (valid cross-correlation, SPEC section 2) of the fixed
    Laplacian and of each learned filter on ``image``, each scaled to its own 99th percentile.
    Bottom row: the 3x3 coefficients as heatmaps with their values written in.

    Args:
        filters: Learned filters (N_L, 3, 3) or (N_L, 1, 3, 3).
        image: One slice (H, W).
        out: Output PNG.
    """
    if isinstance(filters, torch.Tensor):
        w = filters.detach().to("cpu", torch.float64)
    else:
        w = torch.as_tensor(np.asarray(filters, dtype=np.float64))
    if w.ndim == 3:
        w = w[:, None]
    if w.ndim != 4 or tuple(w.shape[1:]) != (1, 3, 3):
        raise ValueError(f"filters must be (N, 3, 3) or (N, 1, 3, 3), got {tuple(w.shape)}")
    x = torch.as_tensor(image2d(image))[None, None]
    lap = torch.tensor(LAPLACIAN_KERNEL, dtype=torch.float64)[None, None]
    bank = torch.cat([lap, w], dim=0)
    resp = filter2d_valid(x, bank)[0].abs().numpy()
    names = ["Laplacian L"] + [f"learned {i + 1}" for i in range(w.shape[0])]
    n = bank.shape[0]
    # at most 5 filters per row pair: the figure stays ~10 in wide, so that at page width
    # (about 1000 pixels) the coefficients are printed at a readable ~9 pt
    ncol = min(n, _FIG8_COLUMNS)
    groups = -(-n // ncol)
    fig = new_figure(2.0 * ncol, 3.9 * groups)
    gs = fig.add_gridspec(2 * groups, ncol, height_ratios=[1.2, 1.0] * groups)
    lim = float(np.abs(bank.numpy()).max())
    for i in range(n):
        g, col = divmod(i, ncol)
        ax = fig.add_subplot(gs[2 * g, col])
        top = float(np.percentile(resp[i], 99)) or 1.0
        show_image(ax, resp[i], 0.0, top)
        ax.set_title(names[i], fontsize=11)
        ax = fig.add_subplot(gs[2 * g + 1, col])
        k = bank[i, 0].numpy()
        ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        for (r, c), v in np.ndenumerate(k):
            ink = "white" if abs(v) > 0.6 * lim else "black"
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=11, color=ink,
                    fontweight="bold")
        ax.set_xticks([])
        ax.set_yticks([])
    return save_png(fig, out)


# --- Fig. 9 -------------------------------------------------------------------------------------


def _load_logs(logs: Mapping[str, pd.DataFrame | PathLike] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(logs, pd.DataFrame):
        if "variant" not in logs.columns:
            raise ValueError("a single training-log table needs a 'variant' column")
        return logs
    if not logs:
        raise ValueError("no training logs given")
    parts = []
    for name, log in logs.items():
        t = log if isinstance(log, pd.DataFrame) else pd.read_csv(log)
        parts.append(t.assign(variant=name))
    return pd.concat(parts, ignore_index=True)


def fig9_validation_curves(
    logs: Mapping[str, pd.DataFrame | PathLike] | pd.DataFrame,
    out: PathLike,
    metrics: Sequence[str] = ("val_psnr", "val_ssim"),
) -> Path:
    """Fig. 9: validation PSNR (and SSIM) against the epoch, one line per variant.

    Args:
        logs: Per-variant training logs (DataFrames or CSV paths) with columns ``epoch`` and
            the ``metrics``, keyed by variant name; or one table with a ``variant`` column.
        out: Output PNG.
        metrics: Columns to plot, one panel each; absent ones are skipped (``val_psnr`` needed).
    """
    t = _load_logs(logs)
    if "epoch" not in t.columns or "val_psnr" not in t.columns:
        raise ValueError(f"training logs need 'epoch' and 'val_psnr'; got {list(t.columns)}")
    present = [m for m in metrics if m in t.columns and t[m].notna().any()]
    fig = new_figure(5.0 * len(present), 3.8)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    labels = {"val_psnr": "validation PSNR (dB)", "val_ssim": "validation SSIM"}
    for ax, m in zip(axes, present, strict=True):
        for name, g in t.groupby("variant", sort=False):
            g = g.sort_values("epoch")
            ax.plot(g["epoch"], g[m], marker=".", label=str(name))
        ax.set_xlabel("epoch")
        ax.set_ylabel(labels.get(m, m))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return save_png(fig, out)
