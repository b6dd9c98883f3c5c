"""The one device resolver of the package: ``auto``/``cpu``/``cuda[:N]``/``mps`` -> a device.

Used by training (``run.device``) and by every SR method that runs a network (``--device``).
``auto`` picks CUDA, then Apple MPS, then the CPU; an explicitly requested device that is not
available is an :class:`~dnsp.errors.InputError` with one line.
"""

from __future__ import annotations

import torch

from dnsp.errors import InputError

__all__ = ["DEVICE_CHOICES", "resolve_device"]

#: What a device text may be (for messages and help texts).
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def resolve_device(text: str | torch.device | None = "auto", *, option: str = "device"
                   ) -> torch.device:
    """The torch device for a user's device text.

    Args:
        text: ``auto`` (or ``None``), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``
            (case-insensitive), or a :class:`torch.device`.
        option: Name of the setting, used in error messages (``run.device``, ``--device``).

    Returns:
        The device; ``auto`` gives CUDA if available, else MPS if available, else the CPU.

    Raises:
        InputError: An unknown or unsupported device, or one that is not available here.
    """
    if isinstance(text, torch.device):
        dev_text = str(text)
    else:
        dev_text = (text or "auto").strip().lower()
    if dev_text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        dev = torch.device(dev_text)
    except RuntimeError:
        raise InputError(f"unknown {option} {text!r}; use {DEVICE_CHOICES}") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"unsupported {option} {text!r}; use {DEVICE_CHOICES}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"{option} is {text!r} but no CUDA device is available")
    if dev.type == "mps" and not _mps_available():
        raise InputError(f"{option} is {text!r} but Apple MPS is not available")
    return dev
