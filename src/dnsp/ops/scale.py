"""The one scale check of the package: every layer validates an integer factor here."""

from __future__ import annotations

import numpy as np

__all__ = ["check_scale"]


def check_scale(scale: object, minimum: int = 1) -> int:
    """``scale`` as an ``int`` if it is an integer ``>= minimum``.

    Args:
        scale: The factor (a Python or NumPy integer; ``bool`` is refused).
        minimum: Smallest accepted value (1 for acquisition models, 2 for upscaling).

    Returns:
        The factor as ``int``.

    Raises:
        ValueError: ``scale must be an integer >= minimum, got ...``.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < minimum:
        raise ValueError(f"scale must be an integer >= {minimum}, got {scale!r}")
    return int(scale)
