"""One interface for every SR method, and the name -> method registry (docs/architecture.md).

Every method, network or model-based, maps a stack of consecutive axial LR slices
``(N, h, w)`` in [0, 1] to ``(N, h*s, w*s)`` on the HR grid of SPEC section 4 (HR voxel j sits
at LR coordinate (j + 0.5)/s - 0.5, i.e. centre-aligned), so evaluation treats all alike.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, runtime_checkable

import numpy as np

from dnsp.errors import InputError

__all__ = [
    "SRMethod",
    "available_methods",
    "check_lr_stack",
    "check_scale",
    "get_method",
]


@runtime_checkable
class SRMethod(Protocol):
    """A super-resolution method acting on stacks of axial slices."""

    name: str

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale ``lr`` (N, h, w) float32 in [0, 1] to (N, h*scale, w*scale) float32."""
        ...


# name -> "module:Class"; imported on demand so that the registry never imports a method's
# dependencies (and no import cycle arises between this module and the methods).
_REGISTRY: dict[str, str] = {
    "bicubic": "dnsp.baselines.bicubic:Bicubic",
    "lrtv": "dnsp.baselines.lrtv:LRTV",
    "srsw": "dnsp.baselines.srsw:SRSW",
}


def available_methods() -> list[str]:
    """Sorted names accepted by :func:`get_method`."""
    return sorted(_REGISTRY)


def get_method(name: str, **params: Any) -> SRMethod:
    """Construct the model-based SR method ``name`` with keyword ``params``.

    Args:
        name: One of :func:`available_methods` (case-insensitive).
        **params: Keyword arguments of the method's constructor (see its docstring).

    Returns:
        An object satisfying :class:`SRMethod`.

    Raises:
        InputError: If ``name`` is unknown (the message lists the valid names); being a
            ``ValueError``, it is also what programmatic callers expect.
        TypeError: If ``params`` contains a keyword the method does not accept.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise InputError(
            f"unknown SR method {name!r}; valid methods: {', '.join(available_methods())}"
        )
    module_name, cls_name = _REGISTRY[key].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(**params)


def check_scale(scale: int) -> int:
    """Validate an integer upscaling factor >= 2 and return it as ``int``."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2:
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}")
    return int(scale)


def check_lr_stack(lr: np.ndarray, scale: int) -> tuple[np.ndarray, int]:
    """Validate the input of :meth:`SRMethod.upscale_stack`.

    Args:
        lr: Stack (N, h, w) of LR slices; a single (h, w) slice is not accepted (add an axis).
        scale: Integer factor >= 2.

    Returns:
        ``(lr, scale)`` with ``lr`` as a C-contiguous float32 array.

    Raises:
        ValueError: For a wrong shape, an empty or non-finite array or a bad scale.
    """
    s = check_scale(scale)
    arr = np.asarray(lr)
    if arr.ndim != 3:
        raise ValueError(f"lr must be a stack (N, h, w), got shape {tuple(arr.shape)}")
    if min(arr.shape) < 1:
        raise ValueError(f"lr is empty, shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"lr must hold real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("lr contains NaN or infinite values")
    return arr, s
