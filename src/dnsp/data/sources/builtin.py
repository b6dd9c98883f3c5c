"""The built-in data sources, one registered function each (paper data, user folders, pairs).

* ``ixi``: one ``IXI*`` file per subject in one folder (default: the shared development copy);
* ``brainweb``: every volume (NIfTI, MINC or raw download) of one folder;
* ``bids``: ``sub-*/[ses-*/]anat/*_T1w.nii*`` files (``derivatives`` skipped);
* ``folder``: every volume file below a folder (a BIDS folder is read as BIDS);
* ``pairs``: ``root/hr`` and ``root/lr`` with matching file names, LR registered to HR
  (Sec. IV-F);
* ``embedded``: the BrainWeb T1 phantom shipped with dnsp (no folder needed).

A new source goes in a file of its own (docs/architecture.md, "Add a data source").
"""

from __future__ import annotations

import re
from pathlib import Path

from dnsp.data.embedded import default_phantom, phantom_path
from dnsp.data.io import load_volume
from dnsp.data.sources.base import (
    Subject,
    existing_folder,
    list_files,
    register_source,
    single_file_subject,
    stem,
)
from dnsp.errors import InputError
from dnsp.paths import shared_data_root

__all__ = [
    "BIDS_PATTERN",
    "bids_subjects",
    "brainweb_subjects",
    "default_brainweb_root",
    "default_ixi_root",
    "embedded_subjects",
    "folder_subjects",
    "is_bids_folder",
    "ixi_subjects",
    "pair_subjects",
]

#: Files taken from a BIDS folder unless the spec gives a pattern.
BIDS_PATTERN = "*_T1w.nii*"
_ENTITIES = re.compile(r"(sub-[A-Za-z0-9]+|ses-[A-Za-z0-9]+|run-[A-Za-z0-9]+)")


def default_ixi_root() -> Path:
    """``<shared data>/ixi-t1-2mm``: the development copy of IXI (may be absent)."""
    return shared_data_root() / "ixi-t1-2mm"


def default_brainweb_root() -> Path:
    """``<shared data>/brainweb``: the development copy of BrainWeb (may be absent)."""
    return shared_data_root() / "brainweb"


@register_source("ixi")
def ixi_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per ``IXI*`` volume (id: the name up to the first ``_``)."""
    folder = existing_folder(root, default_ixi_root())
    files = list_files(folder, pattern or "IXI*", recursive=False)
    return [single_file_subject(stem(p.name).split("_")[0], p) for p in files]


@register_source("brainweb", phantom_grid=True)
def brainweb_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per volume file (id: the file name without its suffix)."""
    folder = existing_folder(root, default_brainweb_root())
    return [single_file_subject(stem(p.name), p)
            for p in list_files(folder, pattern, recursive=False)]


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
        subjects.append(single_file_subject("_".join(ents) if ents else stem(p.name), p))
    return subjects


@register_source("folder", needs_root=True)
def folder_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per volume file, searched recursively (id: relative path, no suffix)."""
    folder = existing_folder(root)
    if is_bids_folder(folder):
        return bids_subjects(folder, pattern)
    return [single_file_subject(stem(str(p.relative_to(folder))), p)
            for p in list_files(folder, pattern, recursive=True)]


@register_source("pairs", needs_root=True, paired=True)
def pair_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """One subject per file name present in both ``hr`` and ``lr`` (LR registered to HR).

    Raises:
        InputError: Missing subfolder or a file without its partner.
    """
    folder = existing_folder(root)
    hr_dir, lr_dir = folder / "hr", folder / "lr"
    if not hr_dir.is_dir() or not lr_dir.is_dir():
        raise InputError(f"a pairs folder needs 'hr' and 'lr' subfolders: {folder}")
    hr_files = {p.name: p for p in list_files(hr_dir, pattern, recursive=False)}
    lr_files = {p.name: p for p in list_files(lr_dir, pattern, recursive=False)}
    missing = sorted(set(hr_files) ^ set(lr_files))
    if missing:
        raise InputError(f"unpaired files in {folder}: {', '.join(missing[:5])}")
    return [
        Subject(stem(n), (hr_files[n], lr_files[n]),
                lambda h=hr_files[n], low=lr_files[n]: (load_volume(h), load_volume(low)))
        for n in sorted(hr_files)
    ]


@register_source("embedded", phantom_grid=True)
def embedded_subjects(root: Path | None, pattern: str | None) -> list[Subject]:
    """The single subject ``brainweb_phantom`` (``root`` and ``pattern`` are ignored)."""
    return [Subject("brainweb_phantom", (phantom_path(),), lambda: (default_phantom(), None))]
