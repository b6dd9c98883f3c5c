"""IXI: one ``IXI*`` file per subject in one folder (default: the shared development copy)."""

from __future__ import annotations

from pathlib import Path

from dnsp.data.sources.base import (
    Subject,
    existing_folder,
    list_files,
    register_source,
    single_file_subject,
    stem,
)
from dnsp.paths import shared_data_root

__all__ = ["default_ixi_root", "ixi_subjects"]


def default_ixi_root() -> Path:
    """``<shared data>/ixi-t1-2mm``: the development copy of IXI (may be absent)."""
    return shared_data_root() / "ixi-t1-2mm"


@register_source("ixi")
def ixi_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per ``IXI*`` volume (id: the name up to the first ``_``)."""
    folder = existing_folder(root, default_ixi_root())
    files = list_files(folder, pattern or "IXI*", recursive=False)
    return [single_file_subject(stem(p.name).split("_")[0], p) for p in files]
