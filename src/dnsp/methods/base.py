"""One interface for every SR method, and the name -> method registry (docs/architecture.md).

Every method, network or model-based, maps a stack of consecutive axial LR slices
``(N, h, w)`` in [0, 1] to ``(N, h*s, w*s)`` on the HR grid of SPEC section 4 (HR voxel j sits
at LR coordinate (j + 0.5)/s - 0.5, i.e. centre-aligned), so evaluation treats all alike.

Methods declare what they need as class attributes (:data:`CAPABILITIES`, read with
:func:`has_capability`; absent means ``False``) instead of being recognised by name:

* ``whole_stack``: the regulariser acts across slices, so the method must see a subject's
  whole stack in one call (LRTV, SRSW);
* ``learns_from_examples``: the method has ``fit(hr_stacks, scale)`` and learns from HR
  training stacks before use (SRSW's patch library);
* ``per_volume``: the method has ``for_volume(*, estimate) -> SRMethod`` and decides
  something once per volume from the volume's acquisition estimate
  (:func:`dnsp.acquisition.estimate_volume`, made once per volume); the volume pipeline
  calls it and uses the returned method for every batch of that volume, so that all batches
  agree (the shipped mixture models: whether the input is noise-free k-space data to
  project on).

Adding a method is one new file in this package with a class decorated by
:func:`register_method` plus its module in the import line of ``dnsp/methods/__init__.py``
(the registry line), as for acquisition models, networks and data sources.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from dnsp.errors import InputError
from dnsp.ops import check_scale

__all__ = [
    "CAPABILITIES",
    "SRMethod",
    "available_methods",
    "check_lr_stack",
    "get_method",
    "has_capability",
    "register_method",
]

#: Capability flags a method may declare as ``bool`` class attributes (see the module docs).
CAPABILITIES = ("whole_stack", "learns_from_examples", "per_volume")


@runtime_checkable
class SRMethod(Protocol):
    """A super-resolution method acting on stacks of axial slices."""

    name: str

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """Upscale ``lr`` (N, h, w) float32 in [0, 1] to (N, h*scale, w*scale) float32."""
        ...


# name -> class, filled by @register_method when dnsp.methods imports the method modules
_REGISTRY: dict[str, type] = {}
M = TypeVar("M", bound=type)


def register_method(name: str) -> Callable[[M], M]:
    """Class decorator: register an :class:`SRMethod` class under ``name`` (lower case).

    Raises:
        ValueError: An empty name, or a name registered to another class.
    """
    key = name.lower()
    if not key:
        raise ValueError("a method needs a name")

    def register(cls: M) -> M:
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise ValueError(f"SR method {key!r} is already registered")
        _REGISTRY[key] = cls
        return cls

    return register


def has_capability(method: object, capability: str) -> bool:
    """Whether ``method`` declares ``capability`` (one of :data:`CAPABILITIES`).

    Raises:
        ValueError: For a name that is not in :data:`CAPABILITIES` (a typo would else read
            as ``False``).
    """
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; valid: {', '.join(CAPABILITIES)}")
    return bool(getattr(method, capability, False))


def available_methods() -> list[str]:
    """Sorted names of the registered methods (accepted by :func:`get_method`)."""
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
    return _REGISTRY[key](**params)


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
    s = check_scale(scale, 2)
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
