"""The on-disk cache of prepared data: key, file name, save and load.

The key hashes every spec field, :data:`DATA_VERSION`, the subject ids and each input file's
resolved path, size and mtime, and the foreground rules; a cached file is used only when the
key stored in it matches. Unreadable cache files are ignored (and rewritten).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from dnsp.data.sharp_smooth import PATCH_FOREGROUND_RULE
from dnsp.data.slicing import FG_THRESHOLD
from dnsp.data.sources import Subject
from dnsp.data.spec import SRData, SRDataSpec, discover_subjects
from dnsp.fsutil import atomic_path

__all__ = ["DATA_VERSION", "cache_file", "cache_key", "load_cache", "save_cache", "spec_record"]

#: Bump when the preparation code changes what it produces (invalidates caches).
DATA_VERSION = 2
#: Spec fields added after :data:`DATA_VERSION` 2 that do not change the 2-D data at these
#: values; they are left out of the key (and the record) there, so existing caches stay valid.
_LATER_FIELDS: dict[str, Any] = {"patch_depth": None, "acquisition": None, "inputs": None,
                                  "acquisition_draws": 1}


def spec_record(spec: SRDataSpec) -> dict[str, Any]:
    """The spec as a JSON-friendly dict (the ``meta["spec"]`` of prepared data)."""
    record = dataclasses.asdict(spec)
    for name, value in _LATER_FIELDS.items():
        if record.get(name, value) == value:
            record.pop(name, None)
    return record


def cache_key(spec: SRDataSpec, subjects: list[Subject] | None = None) -> str:
    """SHA-256 of every spec field, :data:`DATA_VERSION` and each input file's identity."""
    subjects = discover_subjects(spec) if subjects is None else subjects
    files = []
    for s in subjects:
        for f in s.files:
            st = f.stat()
            files.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    payload = {"spec": spec_record(spec), "version": DATA_VERSION,
               "subjects": [s.id for s in subjects], "files": files,
               "fg": [FG_THRESHOLD, PATCH_FOREGROUND_RULE]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cache_file(cache_dir: str | Path, spec: SRDataSpec, key: str) -> Path:
    """``<cache_dir>/srdata-<source>-x<s>-<key16>.pt``."""
    return Path(cache_dir) / f"srdata-{spec.source}-x{spec.scale}-{key[:16]}.pt"


def save_cache(data: SRData, path: Path) -> None:
    """Write ``data`` to ``path`` atomically (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(dataclasses.asdict(data), tmp)


def load_cache(path: Path, key: str) -> SRData | None:
    """The data cached in ``path`` if it is readable and was made with ``key``; else None."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        data = SRData(**payload)
    except Exception:
        return None
    return data if data.meta.get("cache_key") == key else None
