"""Data sources by name: IXI, BrainWeb, plain folders, BIDS, registered pairs, the phantom.

A source is one module here with a function decorated by :func:`register_source`, plus its
import line below (the import registers it): see ``docs/architecture.md``. Unknown names raise
:class:`ValueError` listing the valid ones.
"""

from __future__ import annotations

# The registry lines: importing a module registers its source.
from dnsp.data.sources import bids, brainweb, embedded, folder, ixi, pairs  # noqa: F401
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
from dnsp.data.sources.brainweb import default_brainweb_root
from dnsp.data.sources.ixi import default_ixi_root

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
