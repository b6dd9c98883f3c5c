"""Per-epoch logging: a CSV file (always) and TensorBoard scalars (when installed).

``metrics.csv`` has one row per epoch (train loss and its terms, validation PSNR/SSIM,
throughput); the paper's Fig. 9 validation curves are drawn from it. The file is rewritten
atomically after every epoch, and on resume rows of epochs after the checkpoint are dropped so
that the log of a resumed run equals the log of an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any

from dnsp.fsutil import atomic_path

_LOG = logging.getLogger(__name__)

__all__ = ["RunLogger"]


class RunLogger:
    """CSV (+ optional TensorBoard) logger of epoch rows.

    Args:
        out_dir: Run folder; the CSV is ``out_dir/metrics.csv``, TensorBoard events go to
            ``out_dir/tensorboard``.
        tensorboard: Try to log to TensorBoard; without the ``tensorboard`` package a one-line
            notice is printed and only the CSV is written.
        enabled: False on non-main DDP ranks (nothing is written).
        keep_epochs: On resume, keep existing CSV rows with ``epoch <= keep_epochs``.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        tensorboard: bool = True,
        enabled: bool = True,
        keep_epochs: int | None = None,
    ) -> None:
        self.path = Path(out_dir) / "metrics.csv"
        self.enabled = enabled
        self.rows: list[dict[str, Any]] = []
        self.writer: Any = None
        if not enabled:
            return
        if keep_epochs is not None and self.path.is_file():
            with self.path.open(newline="", encoding="utf-8") as fh:
                self.rows = [r for r in csv.DictReader(fh) if int(r["epoch"]) <= keep_epochs]
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(log_dir=str(Path(out_dir) / "tensorboard"))
            except ImportError:
                _LOG.warning("tensorboard is not installed: logging to metrics.csv only")

    def log_epoch(self, row: dict[str, Any]) -> None:
        """Append an epoch row (must contain ``epoch``) and rewrite the CSV."""
        if not self.enabled:
            return
        self.rows.append(dict(row))
        columns: list[str] = []
        for r in self.rows:
            columns += [k for k in r if k not in columns]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: _fmt(r.get(k, "")) for k in columns})
        with atomic_path(self.path) as tmp:
            tmp.write_text(buf.getvalue(), encoding="utf-8")
        if self.writer is not None:
            step = int(row["epoch"])
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)):
                    self.writer.add_scalar(key.replace("_", "/", 1), value, step)
            self.writer.flush()

    def close(self) -> None:
        """Close the TensorBoard writer."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.8g}"
    return value
