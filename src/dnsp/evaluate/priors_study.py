"""``dnsp reproduce priors-study``: do the priors help? A seeded, resumable study (issue 17).

The grid is variant (NP, LR, FS, AP, LS) x EDSR capacity x seed x degradation (the paper's
Gaussian, the realistic mixture of the shipped models), x2, training pool -> test split, read
from ``dnsp/configs/experiments/priors-study.yml`` (a normal experiment file whose budgets carry
a ``study`` section: ``seeds``, ``capacities``, ``grad_every``, ``stat_patch``, optionally
``target_half_width`` and ``max_seeds``, and whose top-level ``degradations`` are data-section
fields). Runs of one seed share their initial
weights and batch order (``run.seed``), so a variant minus NP is a paired difference.

Each run is trained with :class:`dnsp.train.trainer.Trainer`, whose ``on_step`` callback
records, every ``grad_every`` steps on a fixed probe batch, the norm of the priors' gradient
over the network's parameters relative to that of the reconstruction term
(:class:`GradientProbe`). The final weights are scored per slice on the test split, and the
smoothed rank and Laplacian variance of output and HR patches are recorded
(:func:`patch_statistics`). A finished run is one row of ``OUT/results/runs.csv`` (its slices in
``OUT/results/slices/<run>.csv``) and is never retrained; an interrupted run continues from its
last checkpoint. Statistics and the report: :mod:`dnsp.evaluate.priors_study_stats`.

**More seeds where the interval is wide.** With ``target_half_width`` (dB) set, after the NP
and AP runs of the listed seeds every cell (dataset x degradation x capacity) whose 95 %
interval of AP - NP across seeds is wider than it gets the NP and AP runs of the next seed,
until it is narrow enough or has ``max_seeds`` seeds (:func:`seeds_wanted`); then the other
variants run, for the seeds the cell ended with.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnsp.data.prepare import load_eval_slices
from dnsp.data.spec import SRDataSpec
from dnsp.errors import InputError, Interrupted
from dnsp.evaluate.experiments import Experiment, dotted_to_nested
from dnsp.evaluate.priors_study_stats import (
    paired_differences,
    seed_intervals,
    write_study_report,
)
from dnsp.evaluate.runs import subject_runs
from dnsp.evaluate.study_parts import GradientProbe, patch_statistics, predict_slices
from dnsp.fsutil import atomic_path
from dnsp.metrics import evaluate_slices, write_records_csv
from dnsp.nets import count_parameters
from dnsp.paths import shared_data_root
from dnsp.train.checkpoint import load_checkpoint
from dnsp.train.config import TrainConfig, config_from_dict
from dnsp.train.data import TrainData, load_train_data
from dnsp.train.trainer import Trainer, TrainingInterrupted, build_model
from dnsp.yamlio import deep_merge, read_yaml

_LOG = logging.getLogger(__name__)

__all__ = ["RUN_COLUMNS", "StudyRun", "adaptive_plan", "run_priors_study", "runnable_datasets",
           "seeds_wanted", "study_runs"]

_SPEC_FIELDS = set(SRDataSpec.__dataclass_fields__)
#: Columns of ``results/runs.csv`` (one row per finished run).
RUN_COLUMNS: tuple[str, ...] = (
    "run", "dataset", "degradation", "capacity", "params", "variant", "seed", "steps",
    "train_seconds", "psnr", "ssim", "psnr_brain", "ssim_brain", "n_slices", "grad_ratio",
    "grad_ratio_last", "rank_out", "rank_hr", "lapvar_out", "lapvar_hr",
)


@dataclass(frozen=True)
class StudyRun:
    """One cell of the grid: a variant trained at one capacity, seed and degradation."""

    dataset: str
    degradation: str
    capacity: str
    variant: str
    seed: int

    @property
    def name(self) -> str:
        """Run id used in file names and in ``runs.csv``."""
        return f"{self.dataset}-{self.degradation}-{self.capacity}-{self.variant}-s{self.seed}"


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        _LOG.info(msg)


def _study_section(exp: Experiment, budget_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the budget's ``study`` section, the ``degradations``) of the experiment file."""
    raw = read_yaml(exp.path)
    study = dict(((raw.get("budgets") or {}).get(budget_name) or {}).get("study") or {})
    degs = dict(raw.get("degradations") or {"gaussian": {}})
    for key in ("seeds", "capacities"):
        if not study.get(key):
            raise InputError(f"{exp.path}: budget {budget_name} needs study.{key}")
    for cap in study["capacities"]:
        if "name" not in cap or "params" not in cap:
            raise InputError(f"{exp.path}: every study capacity needs a name and params")
    return study, degs


def study_runs(datasets: list[str], degradations: list[str], capacities: list[str],
               variants: list[str], seeds: list[int]) -> list[StudyRun]:
    """The grid in the order it is run: NP and AP (or the first two variants) of every
    capacity first, from the smallest capacity up, then the other variants; inside, by seed,
    then degradation, so that a partial study holds complete paired cells."""
    first = [v for v in variants if v in ("NP", "AP")] or variants[:2]
    phases = [first, [v for v in variants if v not in first]]
    return [StudyRun(ds, deg, cap, v, int(seed))
            for group in phases for ds in datasets for cap in capacities for seed in seeds
            for deg in degradations for v in group]


def adaptive_plan(runs: pd.DataFrame, datasets: list[str], degradations: list[str],
                  capacities: list[str], variants: list[str], seeds: list[int],
                  target: float | None = None, max_seeds: int = 0) -> list[StudyRun]:
    """The grid of :func:`study_runs` with each cell's seeds from :func:`seeds_wanted`.

    NP and AP first (their seeds extended while the interval is wider than ``target``), then
    the other variants for the seeds each cell has by then.
    """
    first = [v for v in variants if v in ("NP", "AP")] or variants[:2]
    plan: list[StudyRun] = []
    for group, tgt in ((first, target), ([v for v in variants if v not in first], None)):
        if not group:
            continue
        for ds in datasets:
            for cap in capacities:
                want = {deg: seeds_wanted(runs, (ds, deg, cap), seeds, tgt, max_seeds)
                        for deg in degradations}
                for seed in sorted(set().union(*want.values())):
                    plan += [StudyRun(ds, deg, cap, v, seed) for deg in degradations
                             if seed in want[deg] for v in group]
    return plan


def seeds_wanted(runs: pd.DataFrame, cell: tuple[str, str, str], seeds: list[int],
                 target: float | None = None, max_seeds: int = 0) -> list[int]:
    """The seeds a cell ``(dataset, degradation, capacity)`` should have, in order.

    The listed ``seeds`` and any further seed the cell already has for NP and AP; plus the
    next integer when ``target`` is set, all of these have finished NP and AP runs, fewer than
    ``max_seeds`` are there, and the 95 % t interval of AP - NP across them is wider than
    ``+-target`` dB.
    """
    ds, deg, cap = cell
    mine = runs[(runs["dataset"] == ds) & (runs["degradation"] == deg)
                & (runs["capacity"] == cap)]
    have = ({int(x) for x in mine.loc[mine["variant"] == "AP", "seed"]}
            & {int(x) for x in mine.loc[mine["variant"] == "NP", "seed"]})
    want = sorted(set(map(int, seeds)) | have)
    if target is None or not set(want) <= have or len(want) >= max_seeds:
        return want
    iv = seed_intervals(paired_differences(mine[mine["variant"].isin(["NP", "AP"])]))
    half = float(iv["half_width"].iloc[0]) if len(iv) else math.nan
    return want if half <= target else [*want, want[-1] + 1]


class _Study:
    """State of one study invocation: configs, cached data and evaluation sets."""

    def __init__(self, exp: Experiment, budget_name: str, out: Path, quiet: bool,
                 overrides: dict[str, Any]) -> None:
        self.exp, self.budget = exp, exp.budget(budget_name)
        self.study, self.degradations = _study_section(exp, budget_name)
        self.out, self.quiet, self.overrides = out, quiet, overrides
        self.capacities = {c["name"]: c for c in self.study["capacities"]}
        self._data: dict[tuple[str, str], TrainData] = {}
        self._eval: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, list[str], list[int]]] = {}

    def data_section(self, dataset: str, degradation: str) -> dict[str, Any]:
        ds = next(d for d in self.exp.datasets if d.name == dataset)
        data = dict(ds.data)
        if data.get("source") == "ixi" and not data.get("root"):
            data["root"] = str(shared_data_root() / "ixi-t1-2mm")
        if degradation not in self.degradations:
            raise InputError(f"unknown degradation {degradation!r}; valid: "
                             f"{', '.join(self.degradations)}")
        return {**data, **(self.degradations[degradation] or {}),
                "cache_dir": str(self.out / "cache")}

    def config(self, r: StudyRun, extra: dict[str, Any] | None = None) -> TrainConfig:
        """The run's training config; ``extra`` (nested) is merged last."""
        exp, cap = self.exp, self.capacities[r.capacity]
        method = next(m for m in exp.methods if m.name == r.variant)
        cfg = deep_merge(exp.train, method.train or {})
        cfg = deep_merge(cfg, {"data": self.data_section(r.dataset, r.degradation)})
        cfg = deep_merge(cfg, dotted_to_nested(self.budget.train))
        cfg = deep_merge(cfg, dotted_to_nested(dict(cap.get("train") or {})))
        n_in = SRDataSpec(**{k: v for k, v in cfg["data"].items()
                             if k in _SPEC_FIELDS}).network_input.n_channels
        cfg = deep_merge(cfg, {"model": {"params": {**cap["params"], "in_channels": n_in}}})
        cfg = deep_merge(cfg, dotted_to_nested(self.overrides))
        cfg = deep_merge(cfg, {"name": r.name, "run": {
            "out_dir": str(self.out / "runs" / r.name), "seed": r.seed,
            "progress": not self.quiet}})
        return config_from_dict(deep_merge(cfg, extra or {})).validate()

    def train_data(self, cfg: TrainConfig, r: StudyRun) -> TrainData:
        key = (r.dataset, r.degradation)
        if key not in self._data:
            self._data[key] = load_train_data(cfg.data)
        return self._data[key]

    def eval_set(self, cfg: TrainConfig, r: StudyRun
                 ) -> tuple[np.ndarray, np.ndarray, list[str], list[int]]:
        key = (r.dataset, r.degradation)
        if key not in self._eval:
            hr, lr, subjects, slices = load_eval_slices(cfg.data.to_spec(), "test")
            keep: list[int] = []
            for k, (_, a, b) in enumerate(subject_runs(subjects)):
                if self.budget.max_subjects is not None and k >= self.budget.max_subjects:
                    break
                m = b - a if self.budget.max_slices is None else min(b - a,
                                                                     self.budget.max_slices)
                keep.extend(range(a + (b - a - m) // 2, a + (b - a - m) // 2 + m))
            self._eval[key] = (hr[keep], lr[keep], [subjects[i] for i in keep],
                               [slices[i] for i in keep])
        return self._eval[key]

    def run(self, r: StudyRun) -> dict[str, Any]:
        """Train (or resume) and score one run; returns its ``runs.csv`` row."""
        cfg = self.config(r)
        run_dir = Path(cfg.run.out_dir)
        data = self.train_data(cfg, r)
        probe = GradientProbe(data.train_inputs[:16], data.train_targets[:16],
                              int(self.study.get("grad_every", 50)), run_dir / "grad_ratio.jsonl")
        trained = run_dir / "trained.json"
        if not trained.is_file():
            resume = (run_dir / "last.pt").is_file()
            _log(f"[priors-study] training {r.name}" + (" (resuming)" if resume else ""),
                 self.quiet)
            try:
                res = Trainer(cfg, data, resume=resume, quiet=self.quiet, on_step=probe).fit()
            except TrainingInterrupted as exc:
                raise Interrupted(f"{exc}; rerun the same command to resume") from None
            seconds = sum(float(row.get("seconds", 0.0)) for row in res.history)
            with atomic_path(trained) as tmp:
                tmp.write_text(json.dumps({"steps": res.steps, "seconds": seconds}))
        info = json.loads(trained.read_text())
        net = build_model(cfg.model)
        net.load_state_dict(load_checkpoint(run_dir / "last.pt")["model"])
        hr, lr, subjects, slices = self.eval_set(cfg, r)
        pred = predict_slices(net, cfg, lr)
        records = []
        for subject, a, b in subject_runs(subjects):
            records += evaluate_slices(pred[a:b], hr[a:b], method=r.variant, dataset=r.dataset,
                                       scale=cfg.data.scale, subject=subject,
                                       slices=slices[a:b])
        write_records_csv(records, self.out / "results" / "slices" / f"{r.name}.csv")
        grads = probe.read()
        per = pd.DataFrame([x.__dict__ for x in records])
        row: dict[str, Any] = {
            "run": r.name, "dataset": r.dataset, "degradation": r.degradation,
            "capacity": r.capacity, "params": count_parameters(net), "variant": r.variant,
            "seed": r.seed, "steps": info["steps"], "train_seconds": info["seconds"],
            "psnr": per["psnr"].mean(), "ssim": per["ssim"].mean(),
            "psnr_brain": per["psnr_brain"].mean(), "ssim_brain": per["ssim_brain"].mean(),
            "n_slices": len(per),
            "grad_ratio": float(grads["ratio"].median()) if len(grads) else float("nan"),
            "grad_ratio_last": float(grads["ratio"].iloc[-1]) if len(grads) else float("nan"),
        }
        row.update(patch_statistics(pred, hr, size=int(self.study.get("stat_patch", 40)),
                                    delta=cfg.loss.delta))
        return row


def _read_runs(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=list(RUN_COLUMNS))


def runnable_datasets(exp: Experiment, budget_name: str) -> tuple[list[str], list[str]]:
    """(names of the budget's datasets that can run here, notes on those skipped: the ones
    that need ``../shared/data`` when it is absent).

    Raises:
        InputError: When nothing can run.
    """
    budget = exp.budget(budget_name)
    has_shared = shared_data_root().is_dir()
    datasets = [d for d in exp.datasets if budget.datasets is None or d.name in budget.datasets]
    skipped = [f"{d.name} (needs ../shared/data, which is absent)" for d in datasets
               if d.needs_shared_data and not has_shared]
    names = [d.name for d in datasets if not (d.needs_shared_data and not has_shared)]
    if not names:
        raise InputError(f"{exp.name}: nothing to run under budget {budget_name} "
                         f"(skipped: {', '.join(skipped) or 'none'})")
    return names, skipped


def run_priors_study(exp: Experiment, budget_name: str, out_dir: str | Path, *,
                     quiet: bool = False, overrides: dict[str, Any] | None = None,
                     max_runs: int | None = None
                     ) -> tuple[pd.DataFrame, Path, Path, list[str]]:
    """Run (or resume) the study of ``exp`` under ``budget_name`` and write its report.

    Args:
        exp: The priors-study experiment (its budgets carry ``study`` sections).
        budget_name: "smoke", "cpu" or "full".
        out_dir: Output folder; rerunning with it resumes at the next unfinished run.
        quiet: No progress output.
        overrides: Dotted training-config overrides applied to every run last.
        max_runs: Stop after this many newly finished runs (the report covers the runs so far).

    Returns:
        (per-slice results of the finished runs, report.md, report.html, skipped notes).
    """
    budget = exp.budget(budget_name)
    out = Path(out_dir)
    (out / "results" / "slices").mkdir(parents=True, exist_ok=True)
    st = _Study(exp, budget_name, out, quiet, overrides or {})
    names, skipped = runnable_datasets(exp, budget_name)
    variants = [m.name for m in exp.methods if budget.methods is None or m.name in budget.methods]
    seeds = [int(x) for x in st.study["seeds"]]
    target = st.study.get("target_half_width")
    max_seeds = int(st.study.get("max_seeds", len(seeds)))
    runs_csv = out / "results" / "runs.csv"
    table = _read_runs(runs_csv)
    new = 0
    t0 = time.perf_counter()
    while True:
        plan = adaptive_plan(table, names, list(st.degradations), list(st.capacities),
                             variants, seeds, None if target is None else float(target),
                             max_seeds)
        done = set(table["run"])
        todo = [r for r in plan if r.name not in done]
        if not todo or (max_runs is not None and new >= max_runs):
            break
        r = todo[0]
        _log(f"[priors-study] run {len(plan) - len(todo) + 1}/{len(plan)}: {r.name}", quiet)
        row = st.run(r)
        table = pd.concat([table.astype(object), pd.DataFrame([row])], ignore_index=True)
        with atomic_path(runs_csv) as tmp:
            table[list(RUN_COLUMNS)].to_csv(tmp, index=False)
        new += 1
    _log(f"[priors-study] {len(plan) - len(todo)}/{len(plan)} runs finished "
         f"({new} new, {time.perf_counter() - t0:.0f} s)", quiet)
    table = _read_runs(runs_csv)
    parts = [pd.read_csv(out / "results" / "slices" / f"{name}.csv").assign(run=name)
             for name in table["run"]]
    slices = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run"])
    meta = table.set_index("run")[["degradation", "capacity", "params", "variant", "seed"]]
    slices = slices.join(meta, on="run")
    md, html = write_study_report(exp, budget_name, table, slices, out, len(plan), skipped)
    # for the command line's summary: one "dataset" per degradation and capacity
    slices["dataset"] = slices["dataset"] + "-" + slices["degradation"] + "-" + slices["capacity"]
    slices["fraction"] = 1.0
    return slices, md, html, skipped

