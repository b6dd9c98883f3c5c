"""Checkpoints: atomic, weights-only loadable, RNG states restored, bad files rejected."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from dnsp.errors import InputError
from dnsp.train.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


def _draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))  # noqa: NPY002


def test_rng_roundtrip_through_file(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)  # noqa: NPY002
    torch.manual_seed(3)
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng_state()})
    first = _draw()
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert _draw() == first
    # loadable without unpickling arbitrary objects
    assert torch.load(tmp_path / "c.pt", weights_only=True)["format"] == "dnsp-train-checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


def test_bad_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(InputError, match="not a dnsp training checkpoint"):
        load_checkpoint(other)
