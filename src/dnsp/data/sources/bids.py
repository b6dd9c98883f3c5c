"""BIDS: ``sub-*/[ses-*/]anat/*_T1w.nii*`` files (``derivatives`` skipped)."""

from __future__ import annotations

import re
from pathlib import Path

from dnsp.data.sources.base import (
    Subject,
    existing_folder,
    list_files,
    register_source,
    single_file_subject,
    stem,
)

__all__ = ["BIDS_PATTERN", "bids_subjects", "is_bids_folder"]

#: Files taken from a BIDS folder unless the spec gives a pattern.
BIDS_PATTERN = "*_T1w.nii*"
_ENTITIES = re.compile(r"(sub-[A-Za-z0-9]+|ses-[A-Za-z0-9]+|run-[A-Za-z0-9]+)")


def is_bids_folder(root: Path) -> bool:
    """Whether ``root`` holds a ``sub-*`` folder."""
    return any(d.is_dir() and d.name.startswith("sub-") for d in root.iterdir())


@register_source("bids", needs_root=True)
def bids_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per anatomical file; id: its ``sub``/``ses``/``run`` entities."""
    folder = existing_folder(root)
    subjects = []
    for p in list_files(folder, pattern or BIDS_PATTERN, recursive=True):
        if "anat" not in p.relative_to(folder).parts:
            continue
        ents = _ENTITIES.findall(p.name)
        sid = "_".join(ents) if ents else stem(p.name)
        subjects.append(single_file_subject(sid, p))
    return subjects
