"""Registered pairs: ``root/hr`` and ``root/lr`` with matching file names (Sec. IV-F)."""

from __future__ import annotations

from pathlib import Path

from dnsp.data.io import load_volume
from dnsp.data.sources.base import Subject, existing_folder, list_files, register_source, stem
from dnsp.errors import InputError

__all__ = ["pair_subjects"]


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
