"""Training checkpoints: everything needed to continue a run bit-for-bit, written atomically.

A checkpoint is a ``torch.save`` dictionary with

* ``format`` / ``version``: identification of the layout;
* ``network``: ``{"name", "params"}`` (enough to rebuild the model with
  :func:`dnsp.nets.build_network`) and ``model``: its ``state_dict``;
* ``loss``: the loss module's ``state_dict`` (the learnable sharpness filters);
* ``optimizer``: the Adam state;
* ``rng``: torch (CPU and CUDA), NumPy and Python random states;
* ``progress``: epoch, batch within the epoch, global step, running sums of the epoch;
* ``best``: the best validation value, its metric and epoch;
* ``config``: the run's configuration as a plain dict.

Files are written through :func:`dnsp.fsutil.atomic_path`, so an interruption never leaves a
truncated ``last.pt``/``best.pt``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnsp.checkpoint_io import read_torch_file
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "capture_rng_state",
    "load_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "dnsp-train-checkpoint"
CHECKPOINT_VERSION = 1


def capture_rng_state() -> dict[str, Any]:
    """Random states of torch (CPU, every CUDA device), NumPy and Python.

    Only tensors, strings, numbers and lists are stored, so checkpoints load with
    ``torch.load(..., weights_only=True)``.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - global state
    py_version, py_state, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys).astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": int(py_version), "state": list(py_state), "gauss": py_gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore states captured by :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    np.random.set_state((  # noqa: NPY002 - the legacy global state
        npst["kind"], npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
        npst["cached"],
    ))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus format and version) to ``path`` atomically; returns the path."""
    data = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **payload}
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` onto the CPU.

    Raises:
        InputError: If the file is missing, unreadable or not a dnsp training checkpoint.
    """
    p = Path(path)
    data = read_torch_file(p, what="checkpoint")
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{p} is not a dnsp training checkpoint")
    if data.get("version") != CHECKPOINT_VERSION:
        raise InputError(
            f"checkpoint {p} has layout version {data.get('version')}, "
            f"this dnsp reads version {CHECKPOINT_VERSION}"
        )
    return data
