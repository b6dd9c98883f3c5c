"""Former home of the data preparation, kept importable: every name lives elsewhere now.

* :mod:`dnsp.data.spec`: :class:`SRDataSpec`, :class:`SRData`, :func:`discover_subjects`;
* :mod:`dnsp.data.sources`: the registered sources and :class:`Subject`;
* :mod:`dnsp.data.splits`: :func:`split_subjects`, slab selection;
* :mod:`dnsp.data.stacks` / :mod:`dnsp.data.prepare`: :func:`prepare_sr_data`,
  :func:`load_eval_slices`;
* :mod:`dnsp.data.cache`: :func:`cache_key`, :data:`DATA_VERSION`.

New code imports from those modules; the one module still importing this one is
:mod:`dnsp.evaluate.priors_study` (tests/data/test_sources.py keeps it so), after which this
module goes.
"""

from __future__ import annotations

from dnsp.data.cache import DATA_VERSION, cache_key
from dnsp.data.prepare import load_eval_slices, prepare_sr_data
from dnsp.data.sources import (
    Subject,
    available_sources,
    default_brainweb_root,
    default_ixi_root,
)
from dnsp.data.spec import SRData, SRDataSpec, discover_subjects
from dnsp.data.splits import SINGLE_VOLUME_VAL_SLICES, split_subjects

__all__ = [
    "DATA_VERSION",
    "SINGLE_VOLUME_VAL_SLICES",
    "SOURCES",
    "SRData",
    "SRDataSpec",
    "Subject",
    "cache_key",
    "default_brainweb_root",
    "default_ixi_root",
    "discover_subjects",
    "load_eval_slices",
    "prepare_sr_data",
    "split_subjects",
]

#: The registered source names (when this module was imported).
SOURCES = available_sources()
