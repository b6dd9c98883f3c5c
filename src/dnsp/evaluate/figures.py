"""The paper's figures, one function each, from plain arrays and tables.

Every function takes NumPy arrays / pandas DataFrames and an output path, draws with
matplotlib's Agg canvas (no display, no global pyplot state), writes a PNG atomically through
:func:`dnsp.fsutil.atomic_path` and returns the path. Figure numbers are those of the paper
(Cherukuri et al., IEEE TIP 2020).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import ndimage, stats

from dnsp.evaluate.stats import AnovaResult
from dnsp.fsutil import atomic_path
from dnsp.metrics import psnr, ssim
from dnsp.ops import LAPLACIAN_KERNEL, filter2d_valid, gaussian_blur2d, laplacian

__all__ = [
    "anova_interval_plot",
    "auto_zoom_box",
    "fig2_rank_psnr",
    "fig3_laplacian_variance",
    "fig8_learned_filters",
    "fig9_validation_curves",
    "fig15_training_fraction",
    "fig_visual_comparison",
    "laplacian_variance_curve",
    "rank_psnr_curve",
]

PathLike = str | os.PathLike[str]
#: Colour of the zoom-in box (the paper's green rectangle).
ZOOM_COLOUR = "#00c000"


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out: PathLike, dpi: int = 120) -> Path:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(out)


def _image2d(image: np.ndarray, name: str = "image") -> np.ndarray:
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 3:
        raise ValueError(f"{name} must be a 2-D slice of at least 3x3 pixels, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _show(ax, img: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> None:
    ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


# --- Fig. 2 -------------------------------------------------------------------------------------


def rank_psnr_curve(image: np.ndarray, ranks: Sequence[int], data_range: float = 1.0) -> np.ndarray:
    """PSNR of the truncated-SVD reconstruction of ``image`` at each rank (paper Fig. 2).

    The rank-k image keeps the k largest singular values and zeroes the others. The full rank
    reproduces the image up to rounding (PSNR of ~300 dB or ``inf``).
    """
    x = _image2d(image)
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
    x = _image2d(image)
    full = min(x.shape)
    if ranks is None:
        ranks = np.unique(np.linspace(1, full - 1, min(60, full - 1)).round().astype(int)).tolist()
    if show_ranks is None:
        show_ranks = sorted({max(1, round(f * full)) for f in (0.1, 0.3, 0.5, 0.7)})
    curve = rank_psnr_curve(x, ranks)
    shown = rank_psnr_curve(x, show_ranks)
    n_img = len(show_ranks) + 1
    fig = _new_figure(2.2 * n_img, 5.2)
    gs = fig.add_gridspec(2, n_img, height_ratios=[1.0, 1.1])
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    ax = fig.add_subplot(gs[0, 0])
    _show(ax, x)
    ax.set_title(f"original (rank {full})", fontsize=9)
    for i, (k, p) in enumerate(zip(show_ranks, shown, strict=True), start=1):
        ax = fig.add_subplot(gs[0, i])
        _show(ax, (u[:, :k] * s[:k]) @ vt[:k])
        ax.set_title(f"rank {k}: {p:.1f} dB", fontsize=9)
    ax = fig.add_subplot(gs[1, :])
    finite = np.isfinite(curve)
    ax.plot(np.asarray(ranks)[finite], curve[finite], marker=".", lw=1)
    ax.set_xlabel("rank of the reconstruction")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3)
    return _save(fig, out)


# --- Fig. 3 -------------------------------------------------------------------------------------


def laplacian_variance_curve(image: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    """Unbiased variance of the valid Laplacian response of the blurred image per sigma (Fig. 3).

    Blur: :func:`dnsp.ops.gaussian_blur2d` (sigma 0 keeps the image); Laplacian:
    :func:`dnsp.ops.laplacian` (the filter L of SPEC section 1, valid padding).
    """
    x = torch.as_tensor(_image2d(image))
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
    x = _image2d(image)
    if sigmas is None:
        sigmas = np.arange(0.0, 4.01, 0.25).tolist()
    curve = laplacian_variance_curve(x, sigmas)
    shown = laplacian_variance_curve(x, show_sigmas)
    n = len(show_sigmas)
    fig = _new_figure(2.2 * max(n, 2), 5.0)
    gs = fig.add_gridspec(2, max(n, 1), height_ratios=[1.0, 1.1])
    xt = torch.as_tensor(x)
    for i, (sg, v) in enumerate(zip(show_sigmas, shown, strict=True)):
        ax = fig.add_subplot(gs[0, i])
        img = gaussian_blur2d(xt, float(sg)).numpy() if sg > 0 else x
        _show(ax, img)
        ax.set_title(f"blur {sg:g}: var {v:.2e}", fontsize=9)
    ax = fig.add_subplot(gs[1, :])
    ax.plot(sigmas, curve, marker="o", ms=3)
    ax.set_yscale("log")
    ax.set_xlabel("Gaussian blur sigma (pixels)")
    ax.set_ylabel("variance of the Laplacian")
    ax.grid(alpha=0.3, which="both")
    return _save(fig, out)


# --- Fig. 8 -------------------------------------------------------------------------------------


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
    x = torch.as_tensor(_image2d(image))[None, None]
    lap = torch.tensor(LAPLACIAN_KERNEL, dtype=torch.float64)[None, None]
    bank = torch.cat([lap, w], dim=0)
    resp = filter2d_valid(x, bank)[0].abs().numpy()
    names = ["Laplacian L"] + [f"learned {i + 1}" for i in range(w.shape[0])]
    n = bank.shape[0]
    fig = _new_figure(1.9 * n, 4.2)
    gs = fig.add_gridspec(2, n, height_ratios=[1.3, 1.0])
    lim = float(np.abs(bank.numpy()).max())
    for i in range(n):
        ax = fig.add_subplot(gs[0, i])
        top = float(np.percentile(resp[i], 99)) or 1.0
        _show(ax, resp[i], 0.0, top)
        ax.set_title(names[i], fontsize=8)
        ax = fig.add_subplot(gs[1, i])
        k = bank[i, 0].numpy()
        ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
        for (r, c), v in np.ndenumerate(k):
            ink = "white" if abs(v) > 0.6 * lim else "black"
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color=ink)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, out)


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
    fig = _new_figure(5.0 * len(present), 3.8)
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
    return _save(fig, out)


# --- Figs. 11-14 (and 17, 19, 20) ---------------------------------------------------------------


def auto_zoom_box(hr: np.ndarray, size: int | tuple[int, int]) -> tuple[int, int, int, int]:
    """A zoom box (row, col, height, width) on the most detailed part of ``hr``.

    Chooses the window of ``size`` with the largest mean absolute Laplacian, a stated rule in
    place of the paper's hand-picked regions.
    """
    x = _image2d(hr, "hr")
    h, w = (size, size) if isinstance(size, int) else size
    if not (0 < h <= x.shape[0] and 0 < w <= x.shape[1]):
        raise ValueError(f"zoom size {(h, w)} does not fit a {x.shape} slice")
    energy = np.abs(ndimage.laplace(x))
    local = ndimage.uniform_filter(energy, size=(h, w), mode="constant")
    r0, c0 = (h - 1) // 2, (w - 1) // 2  # centre offset of the uniform window
    valid = local[r0 : x.shape[0] - h + 1 + r0, c0 : x.shape[1] - w + 1 + c0]
    r, c = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return (int(r), int(c), int(h), int(w))


def fig_visual_comparison(
    outputs: Mapping[str, np.ndarray],
    hr: np.ndarray,
    out: PathLike,
    box: tuple[int, int, int, int] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    data_range: float = 1.0,
) -> Path:
    """Figs. 11-14 (also 17, 19, 20): methods side by side with a zoom-in box.

    Top row: the HR reference and each method's output with the zoom box drawn as a green
    rectangle and "PSNR/SSIM" under it (whole-slice metrics of SPEC section 6 against ``hr``
    unless ``labels`` gives the text). Bottom row: the zoomed crops.

    Args:
        outputs: Method name -> output slice (H, W), in display order.
        hr: The HR reference (H, W).
        out: Output PNG.
        box: (row, col, height, width) of the zoom region (default :func:`auto_zoom_box` with
            a quarter of the smaller side).
        labels: Optional text under each method instead of computed PSNR/SSIM.
        title: Optional figure title.
        data_range: Intensity range (display window and metrics).
    """
    ref = _image2d(hr, "hr")
    if not outputs:
        raise ValueError("no method outputs to compare")
    imgs = {}
    for name, img in outputs.items():
        x = _image2d(img, f"output of {name}")
        if x.shape != ref.shape:
            raise ValueError(f"output of {name} has shape {x.shape}, hr has {ref.shape}")
        imgs[name] = x
    if box is None:
        box = auto_zoom_box(ref, max(8, min(ref.shape) // 4))
    r, c, h, w = box
    if r < 0 or c < 0 or h < 1 or w < 1 or r + h > ref.shape[0] or c + w > ref.shape[1]:
        raise ValueError(f"zoom box {box} lies outside the {ref.shape} slice")
    panels = [("HR", ref, "PSNR/SSIM")]
    for name, x in imgs.items():
        if labels is not None and name in labels:
            text = labels[name]
        else:
            text = f"{psnr(x, ref, data_range):.2f}/{ssim(x, ref, data_range):.4f}"
        panels.append((name, x, text))
    n = len(panels)
    aspect = ref.shape[0] / ref.shape[1]
    fig = _new_figure(2.4 * n, 2.4 * aspect + 2.4 * h / w + 0.8)
    axes = fig.subplots(2, n, squeeze=False, height_ratios=[aspect, h / w])
    for i, (name, x, text) in enumerate(panels):
        ax = axes[0, i]
        _show(ax, x, 0.0, data_range)
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, ec=ZOOM_COLOUR, lw=1.5))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(text, fontsize=8)
        ax = axes[1, i]
        _show(ax, x[r : r + h, c : c + w], 0.0, data_range)
        for side in ax.spines.values():
            side.set_edgecolor(ZOOM_COLOUR)
            side.set_linewidth(1.5)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, out)


# --- Fig. 15 ------------------------------------------------------------------------------------


def fig15_training_fraction(
    df: pd.DataFrame, out: PathLike, value: str = "psnr", level: float = 0.95
) -> Path:
    """Fig. 15: PSNR against the fraction of training images, one line per method.

    Args:
        df: Table with columns ``method``, ``fraction`` (0-1 or percent) and ``value``, and
            optionally ``dataset`` (one panel per dataset). Several rows per (method, fraction)
            (e.g. per-image values) are averaged and drawn with t-based ``level`` error bars.
        out: Output PNG.
        value: Metric column.
    """
    need = ["method", "fraction", value]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    t = df[np.isfinite(pd.to_numeric(df[value], errors="coerce"))]
    datasets = sorted(t["dataset"].astype(str).unique()) if "dataset" in t.columns else [None]
    fig = _new_figure(4.6 * len(datasets), 3.8)
    axes = fig.subplots(1, len(datasets), squeeze=False)[0]
    for ax, ds in zip(axes, datasets, strict=True):
        sub = t if ds is None else t[t["dataset"].astype(str) == ds]
        for m, g in sub.groupby("method", sort=True):
            agg = g.groupby("fraction")[value].agg(["mean", "std", "count"]).sort_index()
            tq = stats.t.ppf(0.5 + level / 2, np.maximum(agg["count"] - 1, 1))
            err = np.where(agg["count"] > 1, tq * agg["std"] / np.sqrt(agg["count"]), 0.0)
            ax.errorbar(agg.index, agg["mean"], yerr=err, marker="o", ms=4, capsize=3, label=m)
        ax.set_xlabel("fraction of training images")
        ax.set_ylabel("PSNR (dB)" if value == "psnr" else value)
        if ds is not None:
            ax.set_title(ds, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _save(fig, out)


# --- Figs. 10, 16, 18, 21 -----------------------------------------------------------------------


def anova_interval_plot(
    result: AnovaResult | pd.DataFrame,
    out: PathLike,
    *,
    pooled: bool = True,
    order: Sequence[str] | None = None,
    xlabel: str = "PSNR (dB)",
    title: str | None = None,
) -> Path:
    """Figs. 10, 16, 18, 21: cell means with 95% intervals, one row per method x dataset.

    Args:
        result: An :class:`AnovaResult` (its ``cells``; the title defaults to the F tests) or a
            cells table with factor columns then ``mean``, ``ci_low``, ``ci_high`` (and the
            ``_pooled`` intervals).
        out: Output PNG.
        pooled: Draw the intervals implied by the ANOVA's pooled MSE (else each cell's own).
        order: Levels of the first factor (the methods) from top to bottom (default sorted);
            levels not listed are left out.
        xlabel: Axis label of the metric.
        title: Figure title.
    """
    if isinstance(result, AnovaResult):
        cells, factors = result.cells, list(result.factors)
        if title is None:
            title = result.describe(factors[0]) if factors[0] in result.tests else None
    else:
        cells = result
        factors = [c for c in cells.columns if c in ("method", "dataset")] or [cells.columns[0]]
    lo_col, hi_col = ("ci_low_pooled", "ci_high_pooled") if pooled else ("ci_low", "ci_high")
    missing = [c for c in ("mean", lo_col, hi_col) if c not in cells.columns]
    if missing:
        raise ValueError(f"cells table lacks columns {missing}")
    if cells.empty:
        raise ValueError("no cells to plot")
    first = cells[factors[0]].astype(str)
    levels = list(order) if order is not None else sorted(first.unique())
    rank = {lvl: i for i, lvl in enumerate(levels)}
    listed = first.isin(rank).to_numpy()
    if not listed.any():
        raise ValueError(f"none of the levels {levels} is in the cells table")
    keep = cells.loc[listed].copy()
    keep["_rank"] = first[listed].map(rank).to_numpy()
    sort_cols = [*factors[1:][::-1], "_rank"]
    rows = keep.sort_values(sort_cols).reset_index(drop=True)
    labels = [", ".join(str(row[f]) for f in factors) for _, row in rows.iterrows()]
    y = np.arange(len(rows))[::-1]
    fig = _new_figure(6.0, 0.8 + 0.32 * len(rows))
    ax = fig.subplots()
    mean = rows["mean"].to_numpy(dtype=float)
    err = np.vstack([mean - rows[lo_col].to_numpy(float), rows[hi_col].to_numpy(float) - mean])
    colour_key = rows[factors[-1]].astype(str)  # colour by dataset (or the only factor)
    palette = {k: f"C{i}" for i, k in enumerate(dict.fromkeys(colour_key))}
    for i in range(len(rows)):
        ax.errorbar(
            mean[i],
            y[i],
            xerr=err[:, i : i + 1],
            fmt="o",
            capsize=3,
            color=palette[colour_key.iloc[i]],
        )
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    if not all(math.isfinite(v) for v in err.ravel()):
        ax.text(
            0.01, 0.01, "cells with one value have no interval", transform=ax.transAxes, fontsize=7
        )
    return _save(fig, out)
