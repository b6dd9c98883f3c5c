"""The name -> constructor registry of :mod:`dnsp.nets`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

__all__ = [
    "available_networks",
    "build_network",
    "count_parameters",
    "network_defaults",
    "register_network",
]

_REGISTRY: dict[str, tuple[Callable[..., nn.Module], dict[str, Any]]] = {}

F = TypeVar("F", bound=Callable[..., nn.Module])


def register_network(name: str, **defaults: Any) -> Callable[[F], F]:
    """Register a network constructor under ``name`` with default keyword arguments.

    The same class can be registered several times under different names with different
    defaults (e.g. the paper-size ``edsr`` and the CPU-size ``edsr-small``).

    Args:
        name: Registry key, lower case.
        **defaults: Keyword arguments passed to the constructor unless overridden.

    Raises:
        ValueError: If ``name`` is empty, not lower case, or already registered.
    """
    if not name or name != name.lower():
        raise ValueError(f"network names must be non-empty and lower case, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"network {name!r} is already registered")

    def decorator(ctor: F) -> F:
        _REGISTRY[name] = (ctor, dict(defaults))
        return ctor

    return decorator


def available_networks() -> list[str]:
    """Sorted names accepted by :func:`build_network`."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> tuple[Callable[..., nn.Module], dict[str, Any]]:
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown network {name!r}; valid names: {', '.join(available_networks())}"
        )
    return _REGISTRY[key]


def network_defaults(name: str) -> dict[str, Any]:
    """The keyword arguments registered with ``name`` (a copy)."""
    return dict(_lookup(name)[1])


def build_network(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the registered network ``name``.

    Args:
        name: A name from :func:`available_networks` (case-insensitive).
        **kwargs: Constructor arguments; they override the registered defaults.

    Returns:
        The network, in training mode, on the CPU, in float32.

    Raises:
        ValueError: For an unknown name (the message lists the valid names) or an argument
            the constructor does not accept.
    """
    ctor, defaults = _lookup(name)
    params = {**defaults, **kwargs}
    try:
        return ctor(**params)
    except TypeError as exc:
        raise ValueError(f"bad arguments for network {name!r}: {exc}") from exc


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
