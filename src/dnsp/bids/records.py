"""What a BIDS run plans and what it did: :class:`BidsPlan` and :class:`OutputRecord`.

Shared by :mod:`dnsp.bids.app` (which makes them) and :mod:`dnsp.bids.summary` (which
reports them), so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnsp.bids.layout import BidsImage

__all__ = ["BidsPlan", "OutputRecord"]


@dataclass
class BidsPlan:
    """What one invocation will do (from :func:`plan_run`; nothing written yet).

    Attributes:
        bids_dir: The source dataset.
        output_dir: The derivative dataset folder.
        source_description: The source's ``dataset_description.json``.
        participants: Every selected participant label (all shards).
        shard: ``(I, N)``.
        shard_participants: This shard's labels (``shard_labels(participants, I, N)``).
        images: This shard's images.
        n_images: Images of the selection over all shards.
    """

    bids_dir: Path
    output_dir: Path
    source_description: dict[str, Any]
    participants: list[str]
    shard: tuple[int, int]
    shard_participants: list[str]
    images: list[BidsImage]
    n_images: int

    @property
    def summary_name(self) -> str:
        """File name of this run's HTML summary in the output folder."""
        i, n = self.shard
        return "dnsp-summary.html" if n == 1 else f"dnsp-summary_shard-{i}of{n}.html"


@dataclass
class OutputRecord:
    """One output of a run, for the summary (paths relative to the output folder)."""

    source: str
    output: Path
    status: str  # "written", "skipped" or "failed"
    subject: str
    session: str | None
    suffix: str
    seconds: float | None = None
    consistency: float | None = None
    qc: Path | None = None
    input_voxel: list[float] = field(default_factory=list)
    output_voxel: list[float] = field(default_factory=list)
    error: str | None = None
