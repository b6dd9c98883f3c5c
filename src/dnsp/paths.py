"""The one locator of the shared development data (``<repo>/../shared/data``).

Looked up in this order; the first that applies wins:

1. the environment variable ``DNSP_SHARED_DATA`` (used as given, present or not);
2. ``<repo>/../shared/data`` where ``<repo>`` is the source checkout holding this package
   (the nearest parent with a ``pyproject.toml``), if that folder exists;
3. ``<cwd>/../shared/data``, if that folder exists (running from a checkout while the package
   is installed elsewhere).

When none exists the repository-relative path (else the cwd-relative one) is returned, so that
messages can name where the data were expected: callers check ``.is_dir()``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "shared_data_root"]

#: Environment variable that overrides the location of the shared data.
ENV_VAR = "DNSP_SHARED_DATA"


def _repo_root() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return None


def shared_data_root() -> Path:
    """Folder of the shared development data (IXI, BrainWeb, ...); may not exist.

    Returns:
        ``$DNSP_SHARED_DATA`` when set, else the first existing of ``<repo>/../shared/data``
        and ``<cwd>/../shared/data``, else the first of those that can be formed.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    repo = _repo_root()
    candidates = [] if repo is None else [repo.parent / "shared" / "data"]
    candidates.append(Path.cwd().parent / "shared" / "data")
    for cand in candidates:
        if cand.is_dir():
            return cand
    return candidates[0]
