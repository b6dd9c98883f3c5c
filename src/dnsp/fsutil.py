"""Small file-system helpers shared by every layer: atomic writes and input protection."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dnsp.errors import InputError


def _suffixes(path: Path) -> str:
    return "".join(path.suffixes) if path.suffixes else ""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary file keeps the target's suffixes (``.nii.gz`` stays ``.nii.gz``) so writers
    that dispatch on the extension work. On any exception the temporary file is removed and
    ``path`` is left untouched, so no half-written output ever appears under the final name.

    Args:
        path: The final output path. Its parent folder must exist and be writable.

    Raises:
        InputError: If the parent folder does not exist or is not writable.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder is not writable: {parent}")
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".part{_suffixes(target)}", dir=parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():  # mkstemp creates 0600: give the output the usual umask-based mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def ensure_distinct(inp: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """Refuse an output path that names the input (never overwrite an input).

    Raises:
        InputError: If ``out`` resolves to the same file or folder as ``inp``.
    """
    a, b = Path(inp).resolve(), Path(out).resolve()
    if a == b or (b.exists() and a.exists() and os.path.samefile(a, b)):
        raise InputError(f"output path is the input itself: {out}")
