"""Data sources by name: IXI, BrainWeb, plain folders, BIDS, registered pairs, the phantom.

A source is a function ``find(root, pattern) -> list[Subject]`` decorated by
:func:`register_source` (the built-in ones are in :mod:`.builtin`); a new source is one new
module here plus its import line below (the import registers it): see
``docs/architecture.md``. Unknown names raise :class:`ValueError` listing the valid ones.
"""

from __future__ import annotations

# The registry lines: importing a module registers its sources.
from dnsp.data.sources import builtin  # noqa: F401
from dnsp.data.sources.base import (
    Source,
    Subject,
    available_sources,
    discover,
    existing_folder,
    get_source,
    list_files,
    register_source,
    single_file_subject,
    stem,
)
from dnsp.data.sources.builtin import default_brainweb_root, default_ixi_root

__all__ = [
    "Source",
    "Subject",
    "available_sources",
    "default_brainweb_root",
    "default_ixi_root",
    "discover",
    "existing_folder",
    "get_source",
    "list_files",
    "register_source",
    "single_file_subject",
    "stem",
]
