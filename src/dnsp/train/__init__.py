"""Training of DNSP networks (layer 4): typed configs, trainer, checkpoints, DDP, tuning.

* :mod:`dnsp.train.config`: YAML configs as dataclasses (``load_config``);
* :mod:`dnsp.train.data`: ``TrainData`` and ``load_train_data`` (via :mod:`dnsp.data`);
* :mod:`dnsp.train.trainer`: ``Trainer``, ``train`` and the building blocks;
* :mod:`dnsp.train.checkpoint`, :mod:`dnsp.train.logs`, :mod:`dnsp.train.ddp`;
* :mod:`dnsp.train.tune`: the weight search of ``dnsp tune``.

See ``docs/training.md``.
"""

from dnsp.train.config import TrainConfig, load_config
from dnsp.train.data import TrainData, load_train_data
from dnsp.train.trainer import Trainer, TrainingInterrupted, TrainResult, train

__all__ = [
    "TrainConfig",
    "TrainData",
    "TrainResult",
    "Trainer",
    "TrainingInterrupted",
    "load_config",
    "load_train_data",
    "train",
]
