"""The one YAML reader of the package (with ``base:`` inheritance) and the one deep-merge.

A YAML file may name another one in a top-level ``base:`` key (a path relative to the file):
that file is read first (recursively) and this one is deep-merged on top of it, without the
``base`` key. Errors in the user's files are :class:`~dnsp.errors.InputError` with one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from dnsp.errors import InputError

__all__ = ["deep_merge", "read_yaml"]


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``top``: nested mappings merge key by key, anything else replaces.

    Neither argument is modified; the result shares unmerged leaf values with them.

    Args:
        base: The mapping underneath.
        top: The mapping whose values win.

    Returns:
        A new dict.
    """
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping, resolving a top-level ``base: other.yml`` key recursively.

    An empty file is an empty mapping.

    Args:
        path: The YAML file.

    Returns:
        The merged mapping (without ``base``).

    Raises:
        InputError: Missing file, invalid YAML, a document that is not a mapping, a ``base``
            that is not a path, or a ``base`` chain that loops.
    """
    return _read(Path(path), ())


def _read(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise InputError(f"config 'base' chain loops back to {path}")
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(
            f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"config file {path} must contain a mapping of sections")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise InputError(f"'base' in {path} must be a file path")
    return deep_merge(_read(path.parent / base, (*seen, path)), data)
