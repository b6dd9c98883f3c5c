"""A plain folder: every volume file below it is a subject (a BIDS folder is read as BIDS)."""

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
from dnsp.data.sources.bids import bids_subjects, is_bids_folder

__all__ = ["folder_subjects"]


@register_source("folder", needs_root=True)
def folder_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per volume file, searched recursively (id: relative path, no suffix)."""
    folder = existing_folder(root)
    if is_bids_folder(folder):
        return bids_subjects(folder, pattern)
    return [single_file_subject(stem(str(p.relative_to(folder))), p)
            for p in list_files(folder, pattern, recursive=True)]
