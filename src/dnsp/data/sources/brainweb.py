"""BrainWeb: every volume (NIfTI, MINC or raw download) of one folder is a subject."""

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

__all__ = ["brainweb_subjects", "default_brainweb_root"]


def default_brainweb_root() -> Path:
    """``<shared data>/brainweb``: the development copy of BrainWeb (may be absent)."""
    return shared_data_root() / "brainweb"


@register_source("brainweb", phantom_grid=True)
def brainweb_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per volume file (id: the file name without its suffix)."""
    folder = existing_folder(root, default_brainweb_root())
    return [single_file_subject(stem(p.name), p)
            for p in list_files(folder, pattern, recursive=False)]
