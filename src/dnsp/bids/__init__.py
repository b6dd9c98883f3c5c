"""``dnsp bids``: a BIDS App writing a BIDS-derivatives dataset, runnable as job arrays.

* :mod:`dnsp.bids.layout`: a small raw-BIDS reader (participants, sessions, ``anat/`` images),
  label handling and the ``--shard I/N`` partition;
* :mod:`dnsp.bids.derivatives`: derivative file names (``res-``/``desc-``),
  ``dataset_description.json``, JSON sidecars;
* :mod:`dnsp.bids.app`: :func:`plan_run` (select and check, no writes) and :func:`run_plan`
  (upscale, consistency figure, QC thumbnail, sidecar per output; reruns skip);
* :mod:`dnsp.bids.summary`: the per-run HTML summary.

See ``docs/bids.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_SUFFIXES",
    "BidsPlan",
    "OutputRecord",
    "parse_shard",
    "plan_run",
    "run_plan",
    "shard_labels",
]

# imported on first use, so that ``dnsp --help`` (which reads DEFAULT_SUFFIXES from
# dnsp.bids.layout) does not import torch and matplotlib through dnsp.bids.app
_HOME = {"BidsPlan": "records", "OutputRecord": "records", "plan_run": "app", "run_plan": "app",
         "DEFAULT_SUFFIXES": "layout", "parse_shard": "layout", "shard_labels": "layout"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"dnsp.bids.{_HOME[name]}"), name)
    raise AttributeError(f"module 'dnsp.bids' has no attribute {name!r}")
