"""The one reader of the package's own torch files (model files, training checkpoints).

Every file dnsp writes with :func:`torch.save` holds only tensors, numbers, strings, lists and
dicts, so it is read with ``torch.load(weights_only=True)``: no pickled code is ever run, even
for a file that was swapped for a malicious one. Errors are :class:`~dnsp.errors.InputError`
with one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from dnsp.errors import InputError

__all__ = ["read_torch_file"]


def read_torch_file(path: str | os.PathLike[str], *, what: str = "checkpoint") -> Any:
    """Load a torch file written by dnsp onto the CPU, without unpickling code.

    Args:
        path: The file.
        what: What the file is, for messages (``checkpoint``, ``model file``).

    Returns:
        The stored object (for dnsp files: a dict).

    Raises:
        InputError: The file is missing, empty, corrupt, not a torch file, or holds objects
            other than tensors and plain Python values.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} not found: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"{what} is empty: {p}")
    try:
        return torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or non-torch files
        first = (str(exc).strip().splitlines() or [""])[0]
        raise InputError(f"cannot read {what} {p}: {type(exc).__name__}: {first}") from exc
