"""Typed, validated training configurations loaded from YAML (``dnsp train --config FILE``).

A configuration file has the sections ``model``, ``loss``, ``data``, ``optim`` and ``run``
(see ``docs/training.md``). Every key is checked against the dataclasses below: an unknown key
or a value of the wrong type is an :class:`~dnsp.errors.InputError` whose message names the
key and lists the valid ones. A top-level ``base: other.yml`` key (path relative to the file)
loads that file first and deep-merges this one on top. Command-line overrides are dotted
``key=value`` pairs (``loss.alpha=2e-5``, ``model.params.n_blocks=8``); values are parsed as
YAML, so numbers, booleans, ``null`` and ``[1, 2]`` lists work.

Defaults follow the paper's protocol (Sec. IV-A): Adam, lr 1e-4, batch 64, 50 epochs, 40x40
patches, alpha = 1e-5, beta = 5e-3, gamma = 1e-7, delta = 0.01, N_L = 8 filters.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

import yaml

from dnsp.data.sources import default_ixi_root
from dnsp.data.spec import SRDataSpec
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path
from dnsp.losses import REDUCTIONS, VARIANTS
from dnsp.nets import available_networks
from dnsp.yamlio import deep_merge, read_yaml

__all__ = [
    "AMP_MODES",
    "FILTER_NORMS",
    "LR_SCHEDULES",
    "REDUCTIONS",
    "VARIANTS",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "parse_overrides",
    "save_config",
]

FILTER_NORMS = ("none", "unit")
AMP_MODES = ("auto", "bf16", "off")
#: constant: optim.lr throughout (the paper); cosine: lr * (1 + cos(pi * step / steps)) / 2.
LR_SCHEDULES = ("constant", "cosine")
METRICS = ("psnr", "ssim")


def _fail(msg: str) -> None:
    raise InputError(msg)


@dataclass
class ModelConfig:
    """Network choice: a name of :func:`dnsp.nets.available_networks` and its arguments."""

    name: str = "edsr-small"
    params: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Check the name against the network registry."""
        if self.name.lower() not in available_networks():
            _fail(f"model.name {self.name!r} is not a network; valid names: "
                  f"{', '.join(available_networks())}")


@dataclass
class LossConfig:
    """Arguments of :class:`dnsp.losses.DNSPLoss` (Eq. 10; SPEC sections 1-2)."""

    variant: str = "AP"
    alpha: float = 1e-5
    beta: float = 5e-3
    gamma: float = 1e-7
    delta: float = 0.01
    tv_weight: float = 1e-4
    reduction: str = "sum"
    n_filters: int = 8
    filter_norm: str = "none"

    def validate(self) -> None:
        """Check the variant, reduction, filter normalisation and weights."""
        self.variant = self.variant.upper()
        if self.variant not in VARIANTS:
            _fail(f"loss.variant {self.variant!r} is not one of {', '.join(VARIANTS)}")
        if self.reduction not in REDUCTIONS:
            _fail(f"loss.reduction {self.reduction!r} is not one of {', '.join(REDUCTIONS)}")
        if self.filter_norm not in FILTER_NORMS:
            _fail(f"loss.filter_norm {self.filter_norm!r} is not one of "
                  f"{', '.join(FILTER_NORMS)}")
        for key in ("alpha", "beta", "gamma", "tv_weight"):
            if getattr(self, key) < 0:
                _fail(f"loss.{key} must be >= 0, got {getattr(self, key)}")
        if self.delta <= 0:
            _fail(f"loss.delta must be > 0, got {self.delta}")
        if self.n_filters < 1:
            _fail(f"loss.n_filters must be >= 1, got {self.n_filters}")


@dataclass(frozen=True)
class DataConfig(SRDataSpec):
    """Training data: a :class:`dnsp.data.spec.SRDataSpec` (its fields and checks, with
    messages naming ``data.<key>``) plus run-time fields that do not change the data.

    ``source`` is a name of :func:`dnsp.data.sources.available_sources`; for ``ixi`` a null
    ``root`` means the development copy ``<shared data>/ixi-t1-2mm``.
    ``min_patch_foreground: null`` keeps the data layer's default. ``patch_depth`` makes 3-D
    blocks for volumetric networks. ``strip_fraction`` adds that fraction of the training
    images again, synthetically skull-stripped (:func:`dnsp.data.augment.synthetic_skull_strip`).

    Run-time fields: ``cache_dir`` (where prepared data are cached), ``max_val_slices`` (keep
    the first N validation slices: faster epochs), ``augment`` (transform every training patch
    pair by a random flip/90-degree rotation, :func:`dnsp.data.augment.random_dihedral`; off in
    the paper's experiments, on for the shipped models).
    """

    key_prefix: ClassVar[str] = "data."

    cache_dir: str | None = None
    max_val_slices: int | None = None
    augment: bool = False

    def validate(self) -> None:
        """Checks of training beyond the spec's own (done when the config is built)."""
        if not 0 < self.val_fraction < 1:
            _fail(f"data.val_fraction must be in (0, 1) (training needs a validation split), "
                  f"got {self.val_fraction}")
        if self.max_val_slices is not None and self.max_val_slices < 1:
            _fail(f"data.max_val_slices must be >= 1 or null, got {self.max_val_slices}")

    def to_spec(self) -> SRDataSpec:
        """The data spec alone (an ``ixi`` source without root gets the default folder)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(SRDataSpec)}
        if self.source == "ixi" and self.root is None:
            values["root"] = str(default_ixi_root())
        return SRDataSpec(**values)


@dataclass
class OptimConfig:
    """Adam settings; the learnable sharpness filters form their own parameter group.

    ``schedule`` scales both groups' learning rates per step (see ``LR_SCHEDULES``); the
    cosine schedule runs over ``epochs`` and reaches 0 at the end.
    """

    lr: float = 1e-4
    filter_lr: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 50
    grad_clip: float | None = None
    schedule: str = "constant"

    def validate(self) -> None:
        """Check learning rates, batch size, epochs and the schedule."""
        if self.lr <= 0:
            _fail(f"optim.lr must be > 0, got {self.lr}")
        if self.filter_lr is not None and self.filter_lr <= 0:
            _fail(f"optim.filter_lr must be > 0 or null, got {self.filter_lr}")
        if not all(0 <= b < 1 for b in self.betas):
            _fail(f"optim.betas must lie in [0, 1), got {list(self.betas)}")
        if self.eps <= 0 or self.weight_decay < 0:
            _fail("optim.eps must be > 0 and optim.weight_decay >= 0")
        if self.batch_size < 1:
            _fail(f"optim.batch_size must be >= 1, got {self.batch_size}")
        if self.epochs < 1:
            _fail(f"optim.epochs must be >= 1, got {self.epochs}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            _fail(f"optim.grad_clip must be > 0 or null, got {self.grad_clip}")
        if self.schedule not in LR_SCHEDULES:
            _fail(f"optim.schedule {self.schedule!r} is not one of {', '.join(LR_SCHEDULES)}")


@dataclass
class RunConfig:
    """Where and how the run executes: output folder, seed, device, precision, logging."""

    out_dir: str = "runs/default"
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    amp: str = "auto"
    val_every: int = 1
    val_batch_size: int = 8
    metric: str = "psnr"
    tensorboard: bool = True
    progress: bool = True

    def validate(self) -> None:
        """Check the device string, precision mode and logging settings."""
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda", "mps") or dev.startswith("cuda:")):
            _fail(f"run.device {dev!r} is not one of auto, cpu, cuda, cuda:N, mps")
        if self.amp not in AMP_MODES:
            _fail(f"run.amp {self.amp!r} is not one of {', '.join(AMP_MODES)}")
        if self.metric not in METRICS:
            _fail(f"run.metric {self.metric!r} is not one of {', '.join(METRICS)}")
        if self.val_every < 1 or self.val_batch_size < 1:
            _fail("run.val_every and run.val_batch_size must be >= 1")


@dataclass
class TrainConfig:
    """A complete training run."""

    name: str = "run"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def validate(self) -> TrainConfig:
        """Validate every section; returns ``self``."""
        for section in (self.model, self.loss, self.data, self.optim, self.run):
            section.validate()
        return self


# ---------------------------------------------------------------------------------------------
# dict <-> dataclass with type checking


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except InputError as exc:
                errors.append(str(exc))
        _fail(errors[0] if errors else f"{key} must not be null")
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            _fail(f"{key} must be a mapping of keys, got {value!r}")
        return _from_dict(tp, value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        _fail(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        _fail(f"{key} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        _fail(f"{key} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        _fail(f"{key} must be a string, got {value!r}")
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, Sequence) or isinstance(value, str):
            _fail(f"{key} must be a list, got {value!r}")
        return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if origin is tuple:
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != len(args):
            _fail(f"{key} must be a list of {len(args)} values, got {value!r}")
        pairs = enumerate(zip(value, args, strict=True))
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in pairs)
    if origin is list:
        if not isinstance(value, Sequence) or isinstance(value, str):
            _fail(f"{key} must be a list, got {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            _fail(f"{key} must be a mapping, got {value!r}")
        return {str(k): v for k, v in value.items()}
    raise TypeError(f"unsupported config field type {_type_name(tp)} for {key}")


def _from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            where = f"in '{prefix}'" if prefix else "at the top level"
            _fail(f"unknown config key '{full}'; valid keys {where}: {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], full)
    return cls(**kwargs)


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a nested mapping."""
    if not isinstance(data, Mapping):
        _fail("a config must be a mapping with sections model, loss, data, optim, run")
    return _from_dict(TrainConfig, data).validate()


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict (tuples as lists) of a config dataclass, ready for YAML."""

    def plain(v: Any) -> Any:
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``["a.b=1", "c=x"]`` into a nested mapping; values are parsed as YAML.

    Raises:
        InputError: For an item without ``=`` or with an empty key.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            _fail(f"override {item!r} is not of the form section.key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                _fail(f"override {item!r} conflicts with an earlier override of {part!r}")
            node = child
        node[parts[-1]] = value
    return out


def apply_overrides(data: Mapping[str, Any], items: Sequence[str]) -> dict[str, Any]:
    """Deep-merge dotted ``key=value`` overrides onto a config mapping."""
    return deep_merge(data, parse_overrides(items))


def load_config(
    path: str | os.PathLike[str] | None, overrides: Sequence[str] = ()
) -> TrainConfig:
    """Load a YAML config (or the defaults when ``path`` is None) and apply overrides.

    Raises:
        InputError: Missing file, bad YAML, unknown key, wrong type or invalid value.
    """
    data = read_yaml(path) if path is not None else {}
    return config_from_dict(apply_overrides(data, overrides))


def save_config(cfg: TrainConfig, path: str | os.PathLike[str]) -> None:
    """Write ``cfg`` as YAML (atomically)."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False), encoding="utf-8")
