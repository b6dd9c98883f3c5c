"""A small reader of raw BIDS datasets: participants, sessions and anatomical images.

Only what a BIDS App for anatomical super-resolution needs: the ``sub-<label>`` folders, their
optional ``ses-<label>`` folders, and ``anat/`` NIfTI files named
``sub-<label>[_ses-<label>][_<key>-<value>...]_<suffix>.nii[.gz]`` (BIDS 1.x naming). Files
whose name does not parse, or whose ``sub``/``ses`` entity disagrees with their folders, are
not BIDS and are ignored. pybids is not used: it needs SQLAlchemy, formulaic, num2words,
click, universal_pathlib and more for what is here a directory walk (docs/bids.md).

Also here: participant-label handling (with or without the ``sub-`` prefix) and the
deterministic ``--shard I/N`` partition of a participant list.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnsp.errors import InputError

__all__ = [
    "DEFAULT_SUFFIXES",
    "BidsImage",
    "find_images",
    "list_participants",
    "normalise_labels",
    "parse_image_name",
    "parse_shard",
    "read_dataset_description",
    "shard_labels",
]

#: Anatomical suffixes processed by default (non-parametric structural images).
DEFAULT_SUFFIXES = ("T1w", "T2w", "FLAIR", "PDw", "T2starw")
_LABEL = re.compile(r"^[A-Za-z0-9]+$")
_NAME = re.compile(
    r"^(?P<entities>sub-[A-Za-z0-9]+(?:_[a-z]+-[A-Za-z0-9]+)*)_(?P<suffix>[A-Za-z0-9]+)"
    r"(?P<ext>\.nii(?:\.gz)?)$"
)


@dataclass(frozen=True)
class BidsImage:
    """One anatomical image of a raw BIDS dataset.

    Attributes:
        path: The file.
        rel: Its path relative to the dataset root (POSIX separators in :attr:`uri_path`).
        entities: ``(key, value)`` pairs in file-name order (``sub`` first).
        suffix: The BIDS suffix (``T1w``, ``T2w``, ...).
        extension: ``.nii`` or ``.nii.gz``.
    """

    path: Path
    rel: Path
    entities: tuple[tuple[str, str], ...]
    suffix: str
    extension: str

    @property
    def subject(self) -> str:
        """The participant label (without ``sub-``)."""
        return dict(self.entities)["sub"]

    @property
    def session(self) -> str | None:
        """The session label (without ``ses-``), or ``None``."""
        return dict(self.entities).get("ses")

    @property
    def uri_path(self) -> str:
        """:attr:`rel` with forward slashes (for BIDS URIs)."""
        return self.rel.as_posix()


def parse_image_name(name: str) -> tuple[tuple[tuple[str, str], ...], str, str] | None:
    """``(entities, suffix, extension)`` of a BIDS NIfTI file name, or ``None``.

    Example: ``sub-01_ses-2_acq-fast_T1w.nii.gz`` gives
    ``((("sub", "01"), ("ses", "2"), ("acq", "fast")), "T1w", ".nii.gz")``. A key given twice
    makes the name invalid.
    """
    match = _NAME.match(name)
    if match is None:
        return None
    pairs = tuple(tuple(part.split("-", 1)) for part in match["entities"].split("_"))
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        return None
    return pairs, match["suffix"], match["ext"]  # type: ignore[return-value]


def read_dataset_description(root: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``dataset_description.json`` of a BIDS dataset.

    Raises:
        InputError: The folder does not exist, or its ``dataset_description.json`` is missing,
            not JSON, or not an object.
    """
    base = Path(root)
    if not base.is_dir():
        raise InputError(f"BIDS folder does not exist: {base}")
    path = base / "dataset_description.json"
    if not path.is_file():
        raise InputError(f"{base} is not a BIDS dataset: it has no dataset_description.json")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if not isinstance(content, dict):
        raise InputError(f"{path} must hold a JSON object")
    return content


def normalise_labels(labels: Iterable[str] | None, prefix: str) -> list[str] | None:
    """Labels without their ``prefix`` (``sub-01`` and ``01`` both give ``01``), sorted, unique.

    Raises:
        InputError: A label that is not alphanumeric once the prefix is removed.
    """
    if labels is None:
        return None
    out = set()
    for raw in labels:
        label = raw[len(prefix) + 1:] if raw.startswith(f"{prefix}-") else raw
        if not _LABEL.match(label):
            raise InputError(f"invalid {prefix} label {raw!r}: BIDS labels are letters and "
                             f"digits only (with or without the '{prefix}-' prefix)")
        out.add(label)
    return sorted(out)


def list_participants(root: str | os.PathLike[str]) -> list[str]:
    """Sorted participant labels: the ``sub-<label>`` folders of the dataset root."""
    found = []
    for entry in Path(root).iterdir():
        if entry.is_dir() and entry.name.startswith("sub-") and _LABEL.match(entry.name[4:]):
            found.append(entry.name[4:])
    return sorted(found)


def _anat_files(folder: Path) -> list[Path]:
    anat = folder / "anat"
    if not anat.is_dir():
        return []
    return sorted(p for p in anat.iterdir() if not p.name.startswith(".") and p.is_file())


def find_images(
    root: str | os.PathLike[str],
    participants: Sequence[str],
    sessions: Sequence[str] | None = None,
    suffixes: Sequence[str] = DEFAULT_SUFFIXES,
) -> list[BidsImage]:
    """Anatomical images of ``participants`` (labels without ``sub-``), sorted by path.

    Args:
        root: The dataset root.
        participants: Participant labels to read.
        sessions: Keep only these session labels (``None``: all, and session-less data).
        suffixes: Keep only these suffixes (case-sensitive, as in BIDS).

    Returns:
        The matching :class:`BidsImage` objects.
    """
    base = Path(root)
    keep_suffix = set(suffixes)
    keep_session = None if sessions is None else set(sessions)
    images = []
    for sub in participants:
        sub_dir = base / f"sub-{sub}"
        folders: list[tuple[Path, str | None]] = [(sub_dir, None)]
        if sub_dir.is_dir():
            folders += [(d, d.name[4:]) for d in sorted(sub_dir.iterdir())
                        if d.is_dir() and d.name.startswith("ses-") and _LABEL.match(d.name[4:])]
        for folder, ses in folders:
            if keep_session is not None and ses not in keep_session:
                continue
            for path in _anat_files(folder):
                parsed = parse_image_name(path.name)
                if parsed is None:
                    continue
                entities, suffix, ext = parsed
                ent = dict(entities)
                if ent["sub"] != sub or ent.get("ses") != ses or suffix not in keep_suffix:
                    continue
                images.append(BidsImage(path=path, rel=path.relative_to(base),
                                        entities=entities, suffix=suffix, extension=ext))
    return sorted(images, key=lambda im: im.uri_path)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with 1 <= I <= N (shard I of N, counted from 1).

    Raises:
        InputError: Anything else (``0/2``, ``3/2``, ``1/0``, ``a/b``, ``2``).
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if match is None:
        raise InputError(f"--shard must be I/N (shard I of N, 1 <= I <= N), got {text!r}")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise InputError(f"--shard must be I/N with 1 <= I <= N, got {text!r}")
    return index, count


def shard_labels(labels: Sequence[str], index: int, count: int) -> list[str]:
    """Shard ``index`` of ``count`` (from 1) of the sorted ``labels``: every N-th label.

    Labels are sorted first, so every process given the same list gets the same partition;
    the shards are pairwise disjoint and together hold every label once. Dealing them out
    round-robin (rather than in blocks) spreads participants added later over the shards.
    """
    if count < 1 or not 1 <= index <= count:
        raise InputError(f"shard must satisfy 1 <= I <= N, got {index}/{count}")
    return sorted(labels)[index - 1::count]
