"""The state of a training run around :class:`dnsp.train.trainer.Trainer`: its outcome,
progress, stop flag (Ctrl-C) and the exceptions it ends with."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnsp.errors import DnspError
from dnsp.train.config import config_from_dict, config_to_dict

_LOG = logging.getLogger(__name__)

__all__ = ["Progress", "StopFlag", "TrainResult", "TrainingDiverged", "TrainingInterrupted",
           "with_defaults"]


def with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with options added since it was written set to their defaults.

    A checkpoint from an older dnsp lacks newer keys; filling them in lets it resume when
    nothing it did specify has changed. A config this version cannot parse is compared as is.
    """
    try:
        return config_to_dict(config_from_dict(saved))
    except DnspError:
        return saved


class TrainingInterrupted(Exception):
    """Raised after a clean stop (Ctrl-C): a resumable checkpoint has been written."""

    def __init__(self, checkpoint: Path, epoch: int, batch: int) -> None:
        super().__init__(
            f"interrupted in epoch {epoch + 1} after {batch} batches; resumable checkpoint "
            f"{checkpoint} (continue with --resume)"
        )
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.batch = batch


class TrainingDiverged(DnspError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`."""

    out_dir: Path
    epochs: int
    steps: int
    best_value: float | None
    best_epoch: int | None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_checkpoint(self) -> Path:
        """``out_dir/last.pt``."""
        return self.out_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        """``out_dir/best.pt``."""
        return self.out_dir / "best.pt"


@dataclass
class Progress:
    """Where a run stands: epoch, batch, step, running sums, time, best validation."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    seen: int = 0
    seconds: float = 0.0
    best_value: float | None = None
    best_epoch: int | None = None


class StopFlag:
    """SIGINT handler that asks for a clean stop; a second Ctrl-C aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def install(self) -> None:
        """Handle SIGINT (main thread only)."""
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self) -> None:
        """Restore the previous SIGINT handler."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        _LOG.warning("stopping after this step (Ctrl-C again to abort without a checkpoint)")
