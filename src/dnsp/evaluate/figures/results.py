"""Figures of the results (paper Figs. 10-21): visual comparisons, training fraction, ANOVA."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from scipy import ndimage, stats

from dnsp.evaluate.figures._common import (
    ZOOM_COLOUR,
    PathLike,
    image2d,
    new_figure,
    save_png,
    show_image,
)
from dnsp.evaluate.stats import AnovaResult
from dnsp.metrics import psnr, ssim

__all__ = ["anova_interval_plot", "auto_zoom_box", "fig15_training_fraction",
           "fig_visual_comparison"]


# --- Figs. 11-14 (and 17, 19, 20) ---------------------------------------------------------------


def auto_zoom_box(hr: np.ndarray, size: int | tuple[int, int]) -> tuple[int, int, int, int]:
    """A zoom box (row, col, height, width) on the most detailed part of ``hr``.

    Chooses the window of ``size`` with the largest mean absolute Laplacian, a stated rule in
    place of the paper's hand-picked regions.
    """
    x = image2d(hr, "hr")
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
    lr: np.ndarray | None = None,
) -> Path:
    """Figs. 11-14 (also 17, 19, 20): methods side by side with a zoom-in box.

    Top row: the low-resolution input (when ``lr`` is given; shown with nearest-neighbour
    pixels on the HR grid, so its blockiness is visible), the HR reference and each method's
    output with the zoom box drawn as a green
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
        lr: The LR input slice (h, w) with ``H`` and ``W`` integer multiples of ``h`` and
            ``w`` (or the same shape, for registered pairs).
    """
    ref = image2d(hr, "hr")
    if not outputs:
        raise ValueError("no method outputs to compare")
    imgs = {}
    for name, img in outputs.items():
        x = image2d(img, f"output of {name}")
        if x.shape != ref.shape:
            raise ValueError(f"output of {name} has shape {x.shape}, hr has {ref.shape}")
        imgs[name] = x
    if box is None:
        box = auto_zoom_box(ref, max(8, min(ref.shape) // 4))
    r, c, h, w = box
    if r < 0 or c < 0 or h < 1 or w < 1 or r + h > ref.shape[0] or c + w > ref.shape[1]:
        raise ValueError(f"zoom box {box} lies outside the {ref.shape} slice")
    panels = []
    if lr is not None:
        small = image2d(lr, "lr")
        fy, fx = ref.shape[0] // small.shape[0], ref.shape[1] // small.shape[1]
        if fy < 1 or fx < 1 or (small.shape[0] * fy, small.shape[1] * fx) != ref.shape:
            raise ValueError(f"lr of shape {small.shape} does not tile the {ref.shape} slice")
        panels.append((f"LR input (x{fy})" if fy > 1 else "input", np.repeat(
            np.repeat(small, fy, axis=0), fx, axis=1), "nearest"))
    panels.append(("HR", ref, "PSNR/SSIM"))
    for name, x in imgs.items():
        if labels is not None and name in labels:
            text = labels[name]
        else:
            text = f"{psnr(x, ref, data_range):.2f}/{ssim(x, ref, data_range):.4f}"
        panels.append((name, x, text))
    n = len(panels)
    aspect = ref.shape[0] / ref.shape[1]
    fig = new_figure(3.2 * n, 3.2 * aspect + 3.2 * h / w + 1.0)
    axes = fig.subplots(2, n, squeeze=False, height_ratios=[aspect, h / w])
    for i, (name, x, text) in enumerate(panels):
        ax = axes[0, i]
        show_image(ax, x, 0.0, data_range)
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, ec=ZOOM_COLOUR, lw=1.5))
        ax.set_title(name, fontsize=14)
        ax.set_xlabel(text, fontsize=13)
        ax = axes[1, i]
        show_image(ax, x[r : r + h, c : c + w], 0.0, data_range)
        for side in ax.spines.values():
            side.set_edgecolor(ZOOM_COLOUR)
            side.set_linewidth(1.5)
    if title:
        fig.suptitle(title, fontsize=15)
    return save_png(fig, out)


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
    fig = new_figure(4.6 * len(datasets), 3.8)
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
    return save_png(fig, out)


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
    fig = new_figure(6.0, 0.8 + 0.32 * len(rows))
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
    return save_png(fig, out)
