"""Several processes sharing one study folder: an exclusive lock on its tables, and claims
(one lock file per item, taken over when its process has ended)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["claim", "claimed", "locked", "release"]


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """An exclusive lock on the study folder (tables are read and written under it)."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    with (out / "results" / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def claim(out: Path, name: str) -> bool:
    """Claim an item for this process; a claim whose process has ended is taken over."""
    d = out / "claims"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.claim"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            pid = int(path.read_text() or 0)
            os.kill(pid, 0)
            return False
        except (ValueError, ProcessLookupError, PermissionError):
            path.unlink(missing_ok=True)
            return claim(out, name)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def claimed(out: Path, name: str) -> bool:
    path = out / "claims" / f"{name}.claim"
    if not path.is_file():
        return False
    try:
        os.kill(int(path.read_text() or 0), 0)
        return True
    except (ValueError, ProcessLookupError, PermissionError):
        return False


def release(out: Path, name: str) -> None:
    (out / "claims" / f"{name}.claim").unlink(missing_ok=True)


