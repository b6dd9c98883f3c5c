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

from dnsp.bids.app import BidsPlan, OutputRecord, plan_run, run_plan
from dnsp.bids.layout import DEFAULT_SUFFIXES, parse_shard, shard_labels

__all__ = [
    "DEFAULT_SUFFIXES",
    "BidsPlan",
    "OutputRecord",
    "parse_shard",
    "plan_run",
    "run_plan",
    "shard_labels",
]
