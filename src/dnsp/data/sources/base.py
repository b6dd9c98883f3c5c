"""The data-source registry: a source turns a folder (or nothing) into a list of subjects.

A source is one function ``find(root, pattern) -> list[Subject]`` registered under a name with
:func:`register_source`; its module is imported (one line) in :mod:`dnsp.data.sources`.
``root`` is the user's folder (``None`` when not given) and ``pattern`` an optional file-name
glob. Subjects must come sorted by id; :func:`discover` makes duplicate ids unique.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dnsp.data.io import IMAGE_SUFFIXES, Volume, image_stem, load_volume
from dnsp.errors import InputError

# The public names are re-exported by dnsp.data.sources.

Loader = Callable[[], tuple[Volume, Volume | None]]


@dataclass(frozen=True)
class Subject:
    """One stack of a source: an id, the files it is read from, and how to load it.

    ``load`` returns ``(hr, lr)`` volumes; ``lr`` is ``None`` unless the source is paired.
    """

    id: str
    files: tuple[Path, ...]
    load: Loader = field(compare=False, repr=False)


Finder = Callable[[Path | None, str | None], list[Subject]]
F = TypeVar("F", bound=Finder)


@dataclass(frozen=True)
class Source:
    """A registered source and what the data layer needs to know about it.

    Attributes:
        name: Registry key (lower case).
        find: ``(root, pattern) -> subjects``.
        needs_root: A spec of this source must give ``root``.
        paired: Subjects carry a registered LR volume (no LR simulation, no skull stripping).
        phantom_grid: A single volume on the BrainWeb phantom grid is split into the fixed
            slabs of :data:`dnsp.data.embedded.PHANTOM_SLABS`.
    """

    name: str
    find: Finder
    needs_root: bool = False
    paired: bool = False
    phantom_grid: bool = False


_REGISTRY: dict[str, Source] = {}


def register_source(name: str, *, needs_root: bool = False, paired: bool = False,
                    phantom_grid: bool = False) -> Callable[[F], F]:
    """Decorator registering ``find(root, pattern)`` as the source ``name``.

    Raises:
        ValueError: Empty or non-lower-case name, or a name already registered.
    """
    if not name or name != name.lower():
        raise ValueError(f"source names must be non-empty and lower case, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"source {name!r} is already registered")

    def decorator(find: F) -> F:
        _REGISTRY[name] = Source(name, find, needs_root, paired, phantom_grid)
        return find

    return decorator


def available_sources() -> tuple[str, ...]:
    """Sorted names of the registered sources."""
    return tuple(sorted(_REGISTRY))


def get_source(name: str) -> Source:
    """The registered source ``name``.

    Raises:
        ValueError: Unknown name (the message lists the valid ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"source must be one of {', '.join(available_sources())}; got {name!r}")
    return _REGISTRY[name]


def discover(name: str, root: str | None, pattern: str | None) -> list[Subject]:
    """Subjects of source ``name`` under ``root``, with unique ids.

    Raises:
        InputError: Missing folder or no usable volume in it.
    """
    folder = Path(str(root)).expanduser() if root else None
    subjects = get_source(name).find(folder, pattern)
    if not subjects:
        raise InputError(f"no volumes for source {name!r} found in {folder}")
    ids = [s.id for s in subjects]
    if len(set(ids)) != len(ids):
        subjects = [dataclasses.replace(s, id=f"{s.id}#{k}") for k, s in enumerate(subjects)]
    return subjects


# ----------------------------------------------------------------------------- helpers


def existing_folder(root: Path | None, default: Path | None = None) -> Path:
    """``root`` (or ``default`` when ``root`` is None), which must be a folder.

    Raises:
        InputError: The folder does not exist.
    """
    folder = root if root is not None else default
    if folder is None or not folder.is_dir():
        raise InputError(f"data folder does not exist: {folder}")
    return folder


def stem(name: str) -> str:
    """``name`` without its volume suffix (unchanged when it has none)."""
    out = image_stem(name)
    return name if out is None else out


def single_file_subject(sid: str, path: Path) -> Subject:
    """A subject read from one file (no LR)."""
    return Subject(sid, (path,), lambda: (load_volume(path), None))


def list_files(root: Path, pattern: str | None, recursive: bool,
               suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Volume files under ``root``, sorted by relative path.

    Hidden files and anything inside a ``derivatives`` folder are skipped; ``pattern`` is a
    glob matched against the path (``Path.match``).
    """
    suffixes = tuple(suffixes)
    it = root.rglob("*") if recursive else root.iterdir()
    out = []
    for p in it:
        if not p.is_file() or p.name.startswith("."):
            continue
        if "derivatives" in p.relative_to(root).parts:
            continue
        if not p.name.lower().endswith(suffixes):
            continue
        if pattern is not None and not p.match(pattern):
            continue
        out.append(p)
    return sorted(out, key=lambda q: str(q.relative_to(root)))
