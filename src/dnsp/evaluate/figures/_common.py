"""Shared drawing helpers of the figure modules: Agg figures, atomic PNG writing, images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dnsp.fsutil import atomic_path

__all__ = ["ZOOM_COLOUR", "PathLike", "image2d", "new_figure", "save_png", "show_image"]

PathLike = str | os.PathLike[str]
#: Colour of the zoom-in box (the paper's green rectangle).
ZOOM_COLOUR = "#00c000"


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches on its own Agg canvas (no pyplot state)."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, out: PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG atomically and return the path."""
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(out)


def image2d(image: np.ndarray, name: str = "image") -> np.ndarray:
    """``image`` as a finite float64 2-D array of at least 3 x 3 pixels.

    Raises:
        ValueError: Another shape or non-finite values (``name`` in the message).
    """
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 3:
        raise ValueError(f"{name} must be a 2-D slice of at least 3x3 pixels, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def show_image(ax, img: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> None:
    """Draw ``img`` in grey levels on ``ax`` without ticks."""
    ax.imshow(img, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
