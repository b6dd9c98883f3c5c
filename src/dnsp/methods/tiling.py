"""How a network is run on a CPU or device: threads, receptive field, pixel alignment, the
tile grid and the bounding box of the head (used by :mod:`dnsp.methods.network`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from dnsp.ops.grid import window_starts

__all__ = ["auto_threads", "bbox", "pixel_alignment", "receptive_radius", "tile_starts",
           "torch_threads"]


def auto_threads() -> int:
    """CPU threads for the network: the cores not already busy, at least one.

    ``round(cores + 0.5 - load)`` with ``cores`` the CPUs this process may use and ``load`` the
    1-minute load average, clipped to ``[1, cores]``. On a busy machine fewer threads are
    much faster: with 2 threads on 2 contended cores one thread waits for the other at every
    layer (measured in docs/upscale.md).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return max(1, min(cores, round(cores + 0.5 - load)))


def receptive_radius(net: nn.Module) -> int:
    """Upper bound on the half-width of the network's receptive field, in pixels.

    Sums ``dilation * (kernel - 1) // 2`` over every 2-D convolution (and pooling) in the
    module. For a chain of convolutions with residual branches (EDSR, SRCNN) this is the exact
    radius or an upper bound, which is what tiling needs.

    Args:
        net: A 2-D network.

    Returns:
        The radius ``r``: output pixel (i, j) depends only on inputs within ``r`` pixels.
    """
    radius = 0
    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = mod.kernel_size if isinstance(mod.kernel_size, tuple) else (mod.kernel_size,) * 2
            d = getattr(mod, "dilation", 1)
            d = d if isinstance(d, tuple) else (d, d)
            radius += max(dd * (kk - 1) // 2 for kk, dd in zip(k, d, strict=True))
    u = pixel_alignment(net)
    # convolutions on a u-times coarser (space-to-depth) grid: each LR pixel spans u pixels,
    # and a pixel's own u x u cell adds up to u - 1
    return int(radius * u + u - 1)


def pixel_alignment(net: nn.Module) -> int:
    """Grid on which the network is shift-equivariant: its space-to-depth factor, else 1.

    A network with ``unshuffle=u`` (:class:`dnsp.nets.edsr.EDSR`) groups pixels in u x u cells
    counted from the image origin, so its output on a crop equals its output on the whole image
    only when the crop starts at a multiple of u.
    """
    return max(1, int(getattr(net, "unshuffle", 1)))


def tile_starts(length: int, tile: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size ``tile`` that cover ``[0, length)``.

    The last tile ends flush with the axis; with ``align > 1`` every start is a multiple of
    ``align`` (``tile`` must be one too) and the last tile is extended to the end instead,
    by at most ``align - 1`` pixels (:func:`dnsp.ops.grid.window_starts`, the package's one
    grid rule).
    """
    if tile % max(1, align):
        raise ValueError(f"tile {tile} is not a multiple of align {align}")
    return window_starts(length, tile, tile, align)


def _grow(lo: int, hi: int, size: int, quantum: int) -> tuple[int, int]:
    """Grow [lo, hi) inside [0, size) to a length that is a multiple of ``quantum``."""
    want = min(-(-(hi - lo) // quantum) * quantum, size)
    hi = min(lo + want, size)
    return hi - want, hi


def bbox(mask: np.ndarray, margin: int, quantum: int = 16
          ) -> tuple[int, int, int, int] | None:
    """Bounding box of ``mask`` grown by ``margin``, sides rounded up to ``quantum`` pixels.

    Rounding keeps the number of distinct network input shapes small (the CPU convolution
    backend prepares kernels per shape).
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    r0, r1 = _grow(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, h), h,
                   quantum)
    c0, c1 = _grow(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, w), w,
                   quantum)
    return r0, r1, c0, c1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (``None``: leave the setting)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)
