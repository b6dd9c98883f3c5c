"""Typed experiment definitions for ``dnsp reproduce`` (YAML files in ``dnsp/configs``).

An experiment names its datasets, scales, training fractions and methods (model-based
baselines or networks trained with a DNSP loss), the shared training settings, the paired
comparisons to test, the figures to draw, the paper's numbers to show beside the measured ones,
and three budgets: ``smoke`` (minutes on a CPU, used by the tests), ``cpu`` (a few hours on 2
cores) and ``full`` (the paper's protocol, for a GPU).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from dnsp.errors import InputError
from dnsp.yamlio import read_yaml

__all__ = [
    "BUDGETS",
    "Budget",
    "DatasetDef",
    "Experiment",
    "MethodDef",
    "available_experiments",
    "dotted_to_nested",
    "load_experiment",
    "restrict",
]

BUDGETS: tuple[str, ...] = ("smoke", "cpu", "full")
FIGURES: tuple[str, ...] = ("fig2", "fig3", "fig8", "fig9", "visual", "anova", "fig15")


@dataclass(frozen=True)
class DatasetDef:
    """A dataset of an experiment.

    Attributes:
        name: Name in the tables (e.g. "BW", "IXI").
        data: Fields of :class:`dnsp.train.config.DataConfig` (source, root, ...).
        prepare: Optional derived data built first: "lowfield" (simulated 1.5 T from 3 T
            pairs, Sec. IV-E) or "registered_pairs" (simulated LR/HR acquisitions registered
            with SimpleITK, Sec. IV-F). Both produce a ``pairs`` source.
        prepare_params: Keyword arguments of the preparation step.
        needs_shared_data: Skip (with a note in the report) when ``../shared/data`` is absent.
    """

    name: str
    data: dict[str, Any]
    prepare: str | None = None
    prepare_params: dict[str, Any] = field(default_factory=dict)
    needs_shared_data: bool = False


@dataclass(frozen=True)
class MethodDef:
    """A method: ``baseline`` (a name of :func:`dnsp.methods.available_methods`) with
    ``params``, or a network trained with the experiment's ``train`` settings merged with
    this method's ``train`` section, or ``pretrained`` (a shipped model name or "default")."""

    name: str
    baseline: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] | None = None
    pretrained: str | None = None

    @property
    def kind(self) -> str:
        return "baseline" if self.baseline else ("pretrained" if self.pretrained else "train")


@dataclass(frozen=True)
class Budget:
    """Size of a run: training overrides (dotted keys) and how much test data to score.

    ``model_map`` replaces a network in every trained method: a name (``edsr: edsr-tiny``) or a
    model section (``edsr: {name: edsr-tiny, params: {input_skip: true}}``), so that a CPU
    budget runs a small EDSR wherever the experiment trains the paper's EDSR. ``model_train``
    adds training overrides (dotted keys) for one network, keyed by the experiment's network
    name (``srcnn: {optim.epochs: 50}``), so that a fast network can get more epochs than the
    budget's ``train`` gives every run.
    """

    train: dict[str, Any] = field(default_factory=dict)
    max_subjects: int | None = None
    max_slices: int | None = None
    datasets: list[str] | None = None
    scales: list[int] | None = None
    fractions: list[float] | None = None
    methods: list[str] | None = None
    baseline_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_map: dict[str, Any] = field(default_factory=dict)
    model_train: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Experiment:
    """A reproducible experiment of the paper (one table or figure)."""

    name: str
    title: str
    description: str
    datasets: list[DatasetDef]
    methods: list[MethodDef]
    scales: list[int]
    fractions: list[float]
    train: dict[str, Any]
    budgets: dict[str, Budget]
    compare: list[tuple[str, str]] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    paper: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def budget(self, name: str) -> Budget:
        if name not in self.budgets:
            raise InputError(f"experiment {self.name} has no budget {name!r}; valid budgets: "
                             f"{', '.join(self.budgets)}")
        return self.budgets[name]


def dotted_to_nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"optim.epochs": 2}`` -> ``{"optim": {"epochs": 2}}`` (nested values kept)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _experiments_dir() -> Path:
    return Path(str(resources.files("dnsp") / "configs" / "experiments"))


def available_experiments() -> list[str]:
    """Names of the experiments shipped with the package."""
    return sorted(p.stem for p in _experiments_dir().glob("*.yml"))


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InputError(f"{where}: missing key {key!r}")
    return data[key]


def load_experiment(name_or_path: str | os.PathLike[str]) -> Experiment:
    """Load a shipped experiment by name (e.g. "table1") or a YAML file by path.

    Raises:
        InputError: Unknown name (the message lists the valid ones), unreadable or invalid file.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = _experiments_dir() / f"{name_or_path}.yml"
        if not path.is_file():
            raise InputError(f"unknown experiment {str(name_or_path)!r}; valid experiments: "
                             f"{', '.join(available_experiments())}")
    if not path.is_file():
        raise InputError(f"experiment file not found: {path}")
    raw = read_yaml(path)
    where = str(path)
    datasets = [
        DatasetDef(name=d["name"], data=dict(d.get("data", {})), prepare=d.get("prepare"),
                   prepare_params=dict(d.get("prepare_params", {})),
                   needs_shared_data=bool(d.get("needs_shared_data", False)))
        for d in _require(raw, "datasets", where)
    ]
    methods = [
        MethodDef(name=m["name"], baseline=m.get("baseline"), params=dict(m.get("params", {})),
                  train=m.get("train"), pretrained=m.get("pretrained"))
        for m in _require(raw, "methods", where)
    ]
    budgets = {}
    for bname, b in (raw.get("budgets") or {}).items():
        if bname not in BUDGETS:
            raise InputError(f"{where}: budget {bname!r} is not one of {', '.join(BUDGETS)}")
        b = b or {}
        budgets[bname] = Budget(
            train=dict(b.get("train", {})), max_subjects=b.get("max_subjects"),
            max_slices=b.get("max_slices"), datasets=b.get("datasets"), scales=b.get("scales"),
            fractions=b.get("fractions"), methods=b.get("methods"),
            baseline_params=dict(b.get("baseline_params", {})),
            model_map=dict(b.get("model_map", {})),
            model_train={str(k): dict(v or {}) for k, v in (b.get("model_train") or {}).items()},
            note=b.get("note", ""),
        )
    figures = list(raw.get("figures") or [])
    bad = [f for f in figures if f not in FIGURES]
    if bad:
        raise InputError(f"{where}: unknown figures {bad}; valid: {', '.join(FIGURES)}")
    names = {m.name for m in methods}
    compare = [tuple(c) for c in raw.get("compare") or []]
    for a, b in compare:
        if a not in names or b not in names:
            raise InputError(f"{where}: comparison {a} vs {b} names an unknown method")
    return Experiment(
        name=str(raw.get("name", path.stem)), title=str(raw.get("title", path.stem)),
        description=str(raw.get("description", "")).strip(), datasets=datasets,
        methods=methods, scales=[int(s) for s in raw.get("scales", [2])],
        fractions=[float(f) for f in raw.get("fractions", [1.0])],
        train=dict(raw.get("train", {})), budgets=budgets, compare=compare,  # type: ignore[arg-type]
        figures=figures, paper=dict(raw.get("paper", {})), path=str(path),
    )


def restrict(exp: Experiment, budget: str, methods: str | None, datasets: str | None
             ) -> Experiment:
    """Limit budget ``budget`` of ``exp`` to comma-separated method and dataset names.

    Raises:
        InputError: For a name the experiment does not have (the message lists the valid ones).
    """
    b = exp.budget(budget)
    for text, have, key in ((methods, [m.name for m in exp.methods], "methods"),
                            (datasets, [d.name for d in exp.datasets], "datasets")):
        if text is None:
            continue
        names = [n.strip() for n in text.split(",") if n.strip()]
        bad = [n for n in names if n not in have]
        if bad:
            raise InputError(f"{exp.name} has no {key} {', '.join(bad)}; valid: {', '.join(have)}")
        b = replace(b, **{key: names})
    return replace(exp, budgets={**exp.budgets, budget: b})
