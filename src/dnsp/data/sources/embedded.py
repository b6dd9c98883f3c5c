"""The BrainWeb T1 phantom shipped with dnsp (no folder needed)."""

from __future__ import annotations

from pathlib import Path

from dnsp.data.embedded import default_phantom, phantom_path
from dnsp.data.sources.base import Subject, register_source

__all__ = ["embedded_subjects"]


@register_source("embedded", phantom_grid=True)
def embedded_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """The single subject ``brainweb_phantom`` (``root`` and ``pattern`` are ignored)."""
    return [Subject("brainweb_phantom", (phantom_path(),), lambda: (default_phantom(), None))]
