"""The one rule for a grid of windows along an axis: network tiles and training patches.

:func:`window_starts` puts windows ``stride`` apart from 0 and adds a last one flush with
the end when the stride does not reach it, so that every sample is covered; with ``align``
every start is a multiple of ``align`` (the last one rounded down, its window then extended
to the end by its user). ``dnsp.methods.network`` tiles slices with it (stride = tile) and
``dnsp.data.patches`` cuts training patches with it. (The 3-D blocks of
``dnsp.data.blocks3d`` drop a partial last window and SRSW pads instead: other semantics.)
"""

from __future__ import annotations

__all__ = ["window_starts"]


def window_starts(length: int, window: int, stride: int | None = None, align: int = 1
                  ) -> list[int]:
    """Start offsets of ``window``-long windows covering ``[0, length)``.

    Args:
        length: Samples along the axis (``>= window``; shorter axes are their users' case).
        window: Window length.
        stride: Distance between starts (default: ``window``, i.e. no overlap).
        align: Every start is a multiple of it (``stride`` must be one).

    Returns:
        Increasing starts: ``0, stride, 2 stride, ...`` up to ``length - window``, then
        ``length - window`` (rounded down to ``align``) unless already there.

    Raises:
        ValueError: Non-positive sizes, or a stride that is not a multiple of ``align``.
    """
    step = window if stride is None else stride
    if length < 1 or window < 1 or step < 1 or align < 1:
        raise ValueError(f"length, window, stride and align must be >= 1, got {length}, "
                         f"{window}, {step}, {align}")
    if step % align:
        raise ValueError(f"stride {step} is not a multiple of align {align}")
    if window >= length:
        return [0]
    starts = list(range(0, length - window + 1, step))
    last = length - window
    last -= last % align
    if last > starts[-1]:
        starts.append(last)
    return starts
