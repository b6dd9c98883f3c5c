"""``dnsp reproduce priors-strength``: the priors at strengths that matter (issue 29).

The priors study (:mod:`dnsp.evaluate.priors_study`) found the priors' gradient at the paper's
weights to be 0.02-0.07 % of the reconstruction term's, too weak to act. This study sweeps the
**measured strength**: the median over training of ||grad of the priors|| / ||grad of the
reconstruction term|| over the network's weights (:class:`~dnsp.evaluate.study_parts.
GradientProbe`), reached by multiplying the prior weights alpha and beta by a factor ``m``
(gamma only shapes the learnable filters and stays at the paper's value).

**Calibration.** For each variant and nominal ratio (``strength.levels``, e.g. 0.5 %, 5 %,
20 %, 50 %) the factor is found by short *pilot* trainings (seed 0, the primary condition,
``pilot_steps`` optimiser steps with the real run's schedule; the pilot's ratio is the median
of its probes over the second half), iterating in log-log space (:func:`next_multiplier`)
until the pilot lands within ``pilot_tolerance`` of the nominal ratio. beta never goes past
``beta_c_margin`` x beta_c, the largest beta for which the loss is bounded below
(:meth:`dnsp.losses.DNSPLoss.critical_beta`): a level that needs more is run *capped* there
and reported so. One extra run at ``above_beta_c`` x beta_c shows what happens above it.

**Grid.** Primary: every variant x level (the paper's weights included) x seeds, the primary
condition (the paper's degradation, all training data), with the NP runs of the same seeds
(same initial weights and batches: paired). Secondary, once a variant's primary cells are
complete: its best level (highest mean PSNR - NP) and ``secondary.levels`` under each
``secondary.conditions`` entry (the realistic mixture, 25 % of the training data), with their
NP pairs. A cell whose 95 % interval of variant - NP is wider than ``target_half_width`` gets
more seeds (up to ``max_seeds``), as in the priors study.

**Runs.** One row per run in ``OUT/results/runs.csv`` (its slices with HFEN in
``results/slices/<run>.csv``, one output slice in ``results/crops/<run>.npy``), the
calibration in ``results/calibration.json``; rerunning resumes. Several worker processes may
share one output folder (``workers``): each claims a run or a calibration with a lock file,
and tables are updated under a file lock. Statistics and the report:
:mod:`dnsp.evaluate.priors_strength_stats`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import multiprocessing as mp
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dnsp.errors import InputError, Interrupted
from dnsp.evaluate.experiments import Experiment, dotted_to_nested
from dnsp.evaluate.priors_strength_stats import (
    LEVEL_ABOVE,
    LEVEL_PAPER,
    best_levels,
    level_name,
    strength_intervals,
    write_strength_report,
)
from dnsp.evaluate.priors_study import _Study
from dnsp.evaluate.runs import subject_runs
from dnsp.evaluate.study_parts import GradientProbe, patch_statistics, predict_slices
from dnsp.fsutil import atomic_path
from dnsp.losses import PAPER_DEFAULTS, DNSPLoss, variant_weights
from dnsp.metrics import evaluate_slices, hfen
from dnsp.nets import count_parameters
from dnsp.paths import shared_data_root
from dnsp.train.checkpoint import load_checkpoint
from dnsp.train.config import TrainConfig
from dnsp.train.data import TrainData, load_train_data
from dnsp.train.trainer import Trainer, TrainingDiverged, TrainingInterrupted, build_model
from dnsp.yamlio import deep_merge, read_yaml

__all__ = ["RUN_COLUMNS", "StrengthRun", "StrengthSettings", "next_multiplier",
           "run_priors_strength", "strength_plan"]

#: Columns of ``results/runs.csv`` (one row per finished run).
RUN_COLUMNS: tuple[str, ...] = (
    "run", "dataset", "condition", "degradation", "capacity", "params", "variant", "level",
    "nominal", "multiplier", "alpha", "beta", "beta_c", "seed", "steps", "train_seconds",
    "status", "psnr", "ssim", "psnr_brain", "ssim_brain", "hfen", "n_slices", "grad_ratio",
    "grad_ratio_last", "rank_out", "rank_hr", "lapvar_out", "lapvar_hr",
)
PRIMARY = "full"


@dataclass(frozen=True)
class StrengthRun:
    """One run: a variant at one strength level, condition and seed (NP: level ``none``)."""

    dataset: str
    condition: str
    degradation: str
    capacity: str
    variant: str
    level: str
    seed: int

    @property
    def name(self) -> str:
        """Run id used in file names and in ``runs.csv``."""
        return (f"{self.dataset}-{self.condition}-{self.capacity}-{self.variant}-{self.level}"
                f"-s{self.seed}")


@dataclass(frozen=True)
class Condition:
    """Where runs are trained: a degradation plus dotted training overrides."""

    name: str
    degradation: str
    train: dict[str, Any]


@dataclass(frozen=True)
class StrengthSettings:
    """The budget's ``strength`` section, checked."""

    capacity: dict[str, Any]
    variants: list[str]
    levels: list[float]
    seeds: list[int]
    target_half_width: float | None
    max_seeds: int
    grad_every: int
    stat_patch: int
    pilot_steps: int
    pilot_tolerance: float
    max_pilots: int
    beta_c_margin: float
    above_beta_c: float | None
    primary: Condition
    secondary_levels: list[str]
    secondary: list[Condition]

    @classmethod
    def from_section(cls, d: dict[str, Any], where: str) -> StrengthSettings:
        """Read a ``strength`` section (the keys of the class), with one-line errors."""
        def need(key: str) -> Any:
            if key not in d:
                raise InputError(f"{where}: the strength section needs {key!r}")
            return d[key]

        cap = dict(need("capacity"))
        if "name" not in cap or "params" not in cap:
            raise InputError(f"{where}: strength.capacity needs a name and params")
        levels = [float(x) for x in need("levels")]
        if not levels or any(not 0 < x < 1 for x in levels):
            raise InputError(f"{where}: strength.levels must be ratios in (0, 1), got {levels}")
        variants = [str(v) for v in need("variants")]
        if "NP" in variants or not variants:
            raise InputError(f"{where}: strength.variants lists the prior variants (not NP)")
        tol = float(d.get("pilot_tolerance", 1.25))
        margin = float(d.get("beta_c_margin", 0.9))
        if tol <= 1 or not 0 < margin <= 1:
            raise InputError(f"{where}: pilot_tolerance must be > 1 and beta_c_margin in (0, 1]")
        prim = dict(d.get("primary") or {})
        sec = dict(d.get("secondary") or {})
        above = d.get("above_beta_c")
        return cls(
            capacity=cap, variants=variants, levels=sorted(levels),
            seeds=[int(s) for s in need("seeds")],
            target_half_width=(None if d.get("target_half_width") is None
                               else float(d["target_half_width"])),
            max_seeds=int(d.get("max_seeds", len(need("seeds")))),
            grad_every=int(d.get("grad_every", 50)), stat_patch=int(d.get("stat_patch", 40)),
            pilot_steps=int(need("pilot_steps")), pilot_tolerance=tol,
            max_pilots=int(d.get("max_pilots", 5)), beta_c_margin=margin,
            above_beta_c=None if above is None else float(above),
            primary=Condition(PRIMARY, str(prim.get("degradation", "gaussian")),
                              dict(prim.get("train") or {})),
            secondary_levels=[str(x) if x == "best" else level_name(float(x))
                              for x in sec.get("levels", [])],
            secondary=[Condition(str(c["name"]), str(c.get("degradation", "gaussian")),
                                 dict(c.get("train") or {})) for c in sec.get("conditions", [])],
        )


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# calibration


def next_multiplier(points: list[tuple[float, float]], target: float,
                    m_max: float = math.inf) -> float:
    """The next weight factor to try for a gradient ratio ``target``.

    The ratio grows with the factor, roughly as a power law; ``points`` are the (factor,
    measured ratio) pairs so far. With none, 1 (the paper's weights). With two points
    bracketing the target, log-log interpolation between them; else a power-law step from
    the nearest point, with the exponent of its two nearest neighbours (clipped to
    [0.3, 1.5]) or 1. Never above ``m_max``.

    Args:
        points: (multiplier, ratio) pairs; non-finite or non-positive ratios are ignored.
        target: Wanted ratio (> 0).
        m_max: Largest factor allowed (beta_c).

    Returns:
        The factor to try next.
    """
    if not target > 0:
        raise ValueError(f"target must be > 0, got {target!r}")
    pts = sorted((m, r) for m, r in points if m > 0 and math.isfinite(r) and r > 0)
    if not pts:
        return min(1.0, m_max)
    lt = math.log(target)
    below = [p for p in pts if p[1] <= target]
    above = [p for p in pts if p[1] > target]
    if below and above:
        (m1, r1), (m2, r2) = max(below, key=lambda p: p[1]), min(above, key=lambda p: p[1])
        if r2 > r1 and m1 != m2:
            t = (lt - math.log(r1)) / (math.log(r2) - math.log(r1))
            return min(math.exp(math.log(m1) + t * (math.log(m2) - math.log(m1))), m_max)
    near = sorted(pts, key=lambda p: abs(math.log(p[1]) - lt))
    m0, r0 = near[0]
    slope = 1.0
    if len(near) > 1:
        (ma, ra), (mb, rb) = near[0], near[1]
        if ma != mb and ra != rb:
            slope = (math.log(rb) - math.log(ra)) / (math.log(mb) - math.log(ma))
            slope = float(np.clip(slope, 0.3, 1.5))
    return min(math.exp(math.log(m0) + (lt - math.log(r0)) / slope), m_max)


class _StopAfter:
    """``on_step`` callback of a pilot: probe the ratio, stop after ``steps`` steps."""

    def __init__(self, probe: GradientProbe, steps: int) -> None:
        self.probe, self.steps = probe, steps

    def __call__(self, trainer: Trainer, step: int) -> None:
        self.probe(trainer, step)
        if step >= self.steps:
            trainer.request_stop()


# ---------------------------------------------------------------------------------------------
# the study state


class _StrengthStudy(_Study):
    """Configs, data and scoring of the strength study (the priors study's machinery)."""

    def __init__(self, exp: Experiment, budget_name: str, out: Path, quiet: bool,
                 overrides: dict[str, Any]) -> None:
        super().__init__(exp, budget_name, out, quiet, overrides)
        raw = read_yaml(exp.path)
        section = ((raw.get("budgets") or {}).get(budget_name) or {}).get("strength")
        if not section:
            raise InputError(f"{exp.path}: budget {budget_name} needs a strength section")
        self.s = StrengthSettings.from_section(section, str(exp.path))
        self.capacities = {self.s.capacity["name"]: self.s.capacity}
        self.conditions = {c.name: c for c in [self.s.primary, *self.s.secondary]}
        for c in self.conditions.values():
            if c.degradation not in self.degradations:
                raise InputError(f"{exp.path}: condition {c.name} names an unknown degradation "
                                 f"{c.degradation!r}; valid: {', '.join(self.degradations)}")
        self._sdata: dict[str, TrainData] = {}
        self._beta_c: dict[str, float | None] = {}

    @staticmethod
    def weights(multiplier: float) -> dict[str, float]:
        """alpha and beta at ``multiplier`` times the paper's."""
        return {"alpha": PAPER_DEFAULTS["alpha"] * multiplier,
                "beta": PAPER_DEFAULTS["beta"] * multiplier}

    def strength_config(self, r: StrengthRun, multiplier: float,
                        out_dir: Path | None = None) -> TrainConfig:
        """The run's config: the priors study's, the condition's overrides, the weights."""
        extra = dotted_to_nested(self.conditions[r.condition].train)
        if r.variant != "NP":
            extra = deep_merge(extra, {"loss": self.weights(multiplier)})
        if out_dir is not None:
            extra = deep_merge(extra, {"run": {"out_dir": str(out_dir)}})
        return _Study.config(self, r, extra)  # type: ignore[arg-type]  # same fields

    def data_for(self, cfg: TrainConfig, r: StrengthRun) -> TrainData:
        if r.condition not in self._sdata:
            self._sdata[r.condition] = load_train_data(cfg.data)
        return self._sdata[r.condition]

    def beta_c(self, variant: str) -> float | None:
        """beta_c of the variant's loss on training patches, at initialisation."""
        if variant not in self._beta_c:
            cfg = self.strength_config(self._run(variant, LEVEL_PAPER, 0), 1.0)
            crit = DNSPLoss(variant, reduction=cfg.loss.reduction,
                            filter_norm=cfg.loss.filter_norm, seed=cfg.run.seed)
            self._beta_c[variant] = crit.critical_beta(cfg.data.patch, cfg.data.patch)
        return self._beta_c[variant]

    def m_max(self, variant: str) -> float:
        bc = self.beta_c(variant) if "beta" in variant_weights(variant) else None
        return math.inf if bc is None else self.s.beta_c_margin * bc / PAPER_DEFAULTS["beta"]

    def _run(self, variant: str, level: str, seed: int, condition: str = PRIMARY
             ) -> StrengthRun:
        cond = self.conditions[condition]
        ds = self._dataset
        return StrengthRun(ds, condition, cond.degradation, self.s.capacity["name"], variant,
                           "none" if variant == "NP" else level, seed)

    _dataset: str = ""

    # -- pilots ---------------------------------------------------------------------------
    def pilot(self, variant: str, multiplier: float, k: int) -> float:
        """Median gradient ratio over the second half of a ``pilot_steps`` pilot."""
        r = self._run(variant, f"pilot{k}", 0)
        pdir = self.out / "pilots" / f"{variant}-{k}"
        shutil.rmtree(pdir, ignore_errors=True)
        cfg = self.strength_config(r, multiplier, out_dir=pdir)
        data = self.data_for(cfg, r)
        every = max(1, self.s.pilot_steps // 16)
        probe = GradientProbe(data.train_inputs[:16], data.train_targets[:16], every,
                              pdir / "grad_ratio.jsonl")
        try:
            Trainer(cfg, data, quiet=True, on_step=_StopAfter(probe, self.s.pilot_steps)).fit()
        except TrainingInterrupted:
            pass
        except TrainingDiverged:
            shutil.rmtree(pdir, ignore_errors=True)
            return math.inf
        g = probe.read()
        g = g[g["step"] > self.s.pilot_steps / 2] if (g["step"] > self.s.pilot_steps / 2).any() \
            else g
        ratio = float(g["ratio"].median()) if len(g) else math.nan
        shutil.rmtree(pdir, ignore_errors=True)
        return ratio

    def calibrate(self, variant: str, calib: dict[str, Any], save: Any) -> None:
        """Find the factor of every level of ``variant`` (resumes from ``calib``)."""
        mine = calib.setdefault(variant, {"pilots": [], "levels": {}})
        m_max = self.m_max(variant)
        mine["m_max"] = m_max if math.isfinite(m_max) else None
        mine["beta_c"] = self.beta_c(variant) if "beta" in variant_weights(variant) else None
        for target in self.s.levels:
            name = level_name(target)
            if name in mine["levels"]:
                continue
            tried: list[tuple[float, float]] = []
            for _ in range(self.s.max_pilots):
                pts = [(p[0], p[1]) for p in mine["pilots"]]
                m = next_multiplier(pts, target, m_max)
                known = [p for p in pts if abs(p[0] / m - 1) < 1e-3]
                if known:
                    ratio = known[0][1]
                else:
                    _log(f"[priors-strength] pilot {variant} x{m:.4g} (target {target:.3g})",
                         self.quiet)
                    ratio = self.pilot(variant, m, len(mine["pilots"]))
                    mine["pilots"].append([m, ratio])
                    save(calib)
                tried.append((m, ratio))
                if math.isfinite(ratio) and ratio > 0 and \
                        max(ratio / target, target / ratio) <= self.s.pilot_tolerance:
                    break
                if m >= m_max * (1 - 1e-9) and not ratio > target:
                    break  # capped at beta_c
                if known:
                    break
            fin = [t for t in tried if math.isfinite(t[1]) and t[1] > 0]
            m, ratio = min(fin or tried, key=lambda t: abs(math.log(max(t[1], 1e-300) / target)))
            mine["levels"][name] = {
                "nominal": target, "multiplier": m, "pilot_ratio": ratio,
                "capped": bool(m >= m_max * (1 - 1e-9) and ratio < target / self.s.pilot_tolerance),
                **self.weights(m)}
            save(calib)

    # -- one run ----------------------------------------------------------------------------
    def run_one(self, r: StrengthRun, multiplier: float, nominal: float) -> dict[str, Any]:
        """Train (or resume) and score one run; returns its ``runs.csv`` row."""
        cfg = self.strength_config(r, multiplier)
        run_dir = Path(cfg.run.out_dir)
        data = self.data_for(cfg, r)
        probe = GradientProbe(data.train_inputs[:16], data.train_targets[:16],
                              self.s.grad_every, run_dir / "grad_ratio.jsonl")
        trained = run_dir / "trained.json"
        status = "ok"
        if not trained.is_file():
            resume = (run_dir / "last.pt").is_file()
            _log(f"[priors-strength] training {r.name} (x{multiplier:.4g})"
                 + (" (resuming)" if resume else ""), self.quiet)
            try:
                res = Trainer(cfg, data, resume=resume, quiet=True, on_step=probe).fit()
                info = {"steps": res.steps, "seconds": sum(float(x.get("seconds", 0.0))
                                                           for x in res.history)}
            except TrainingInterrupted as exc:
                raise Interrupted(f"{exc}; rerun the same command to resume") from None
            except TrainingDiverged as exc:
                info = {"steps": -1, "seconds": math.nan, "status": str(exc).split(";")[0]}
            with atomic_path(trained) as tmp:
                tmp.write_text(json.dumps(info))
        info = json.loads(trained.read_text())
        status = info.get("status", status)
        grads = probe.read()
        bc = self.beta_c(r.variant) if "beta" in variant_weights(r.variant) else None
        row: dict[str, Any] = {
            "run": r.name, "dataset": r.dataset, "condition": r.condition,
            "degradation": r.degradation, "capacity": r.capacity, "variant": r.variant,
            "level": r.level, "nominal": nominal, "multiplier": multiplier,
            **(self.weights(multiplier) if r.variant != "NP"
               else {"alpha": 0.0, "beta": 0.0}),
            "beta_c": bc, "seed": r.seed, "steps": info["steps"],
            "train_seconds": info["seconds"], "status": status,
            "grad_ratio": float(grads["ratio"].median()) if len(grads) else math.nan,
            "grad_ratio_last": float(grads["ratio"].iloc[-1]) if len(grads) else math.nan,
        }
        net = build_model(cfg.model)
        row["params"] = count_parameters(net)
        if status != "ok":
            return row
        net.load_state_dict(load_checkpoint(run_dir / "last.pt")["model"])
        hr, lr, subjects, slices = self.eval_set(cfg, r)  # type: ignore[arg-type]
        pred = predict_slices(net, cfg, lr)
        if not np.all(np.isfinite(pred)):
            row["status"] = "non-finite output"
            return row
        records = []
        for subject, a, b in subject_runs(subjects):
            records += evaluate_slices(pred[a:b], hr[a:b], method=r.variant, dataset=r.dataset,
                                       scale=cfg.data.scale, subject=subject,
                                       slices=slices[a:b])
        per = pd.DataFrame([x.__dict__ for x in records])
        per["hfen"] = [hfen(p, h) for p, h in zip(pred, hr, strict=True)]
        res_dir = self.out / "results"
        with atomic_path(res_dir / "slices" / f"{r.name}.csv") as tmp:
            per.to_csv(tmp, index=False)
        k = _crop_index(subjects)
        with atomic_path(res_dir / "crops" / f"{r.name}.npy") as tmp, tmp.open("wb") as f:
            np.save(f, pred[k].astype(np.float32))
        if not (res_dir / "crops" / "HR.npy").is_file():
            with atomic_path(res_dir / "crops" / "HR.npy") as tmp, tmp.open("wb") as f:
                np.save(f, hr[k].astype(np.float32))
        row.update({"psnr": per["psnr"].mean(), "ssim": per["ssim"].mean(),
                    "psnr_brain": per["psnr_brain"].mean(),
                    "ssim_brain": per["ssim_brain"].mean(), "hfen": per["hfen"].mean(),
                    "n_slices": len(per)})
        row.update(patch_statistics(pred, hr, size=self.s.stat_patch, delta=cfg.loss.delta))
        return row


def _crop_index(subjects: list[str]) -> int:
    """The slice kept for the crop figure: the middle test slice of the first subject."""
    first = next(subject_runs(subjects))
    return (first[1] + first[2]) // 2


# ---------------------------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class _Calibrate:
    variant: str

    @property
    def name(self) -> str:
        return f"calibrate-{self.variant}"


def _seeds(table: pd.DataFrame, st: _StrengthStudy, condition: str, variant: str,
           level: str) -> list[int]:
    """Seeds of one cell: the listed ones, plus one more while the cell's 95 % interval of
    variant - NP is wider than ``target_half_width`` (up to ``max_seeds``)."""
    s = st.s
    mine = table[(table["condition"] == condition)]
    np_seeds = set(mine.loc[mine["variant"] == "NP", "seed"].astype(int))
    cell = mine[(mine["variant"] == variant) & (mine["level"] == level)]
    have = set(cell["seed"].astype(int)) & np_seeds
    want = sorted(set(s.seeds) | have)
    if s.target_half_width is None or not set(want) <= have or len(want) >= s.max_seeds:
        return want
    iv = strength_intervals(mine[mine["status"] == "ok"], "psnr")
    iv = iv[(iv["variant"] == variant) & (iv["level"] == level)]
    half = float(iv["half_width"].iloc[0]) if len(iv) else math.nan
    return want if not half > s.target_half_width else [*want, want[-1] + 1]


def strength_plan(table: pd.DataFrame, calib: dict[str, Any], st: _StrengthStudy
                  ) -> tuple[list[Any], dict[str, list[str]]]:
    """Everything to do, in order, and what each item waits for.

    Returns:
        (items: :class:`_Calibrate` and :class:`StrengthRun` entries; needs: item name ->
        names of the items it waits for, beyond those in the list: a run at a calibrated
        level waits for its variant's calibration, a secondary run for the variant's primary
        cells).
    """
    s = st.s
    levels = [LEVEL_PAPER, *(level_name(x) for x in s.levels)]
    items: list[Any] = []
    needs: dict[str, list[str]] = {}
    prim_cells: dict[str, list[str]] = {}
    np_seeds: set[int] = set(s.seeds)
    for v in s.variants:
        for lev in levels:
            np_seeds |= set(_seeds(table, st, PRIMARY, v, lev))
    items += [st._run("NP", "none", seed) for seed in sorted(np_seeds)]
    for v in s.variants:  # the paper's level needs no calibration
        items += [st._run(v, LEVEL_PAPER, seed) for seed in _seeds(table, st, PRIMARY, v,
                                                                    LEVEL_PAPER)]
    items += [_Calibrate(v) for v in s.variants]
    for lev in levels[1:]:
        for v in s.variants:
            for seed in _seeds(table, st, PRIMARY, v, lev):
                r = st._run(v, lev, seed)
                items.append(r)
                needs[r.name] = [_Calibrate(v).name]
    for v in s.variants:
        prim_cells[v] = [r.name for r in items if isinstance(r, StrengthRun)
                         and r.variant in (v, "NP") and r.condition == PRIMARY]
    if s.above_beta_c is not None:
        capped = [v for v in s.variants if "beta" in variant_weights(v) and any(
            lv.get("capped") for lv in (calib.get(v) or {}).get("levels", {}).values())]
        v_above = capped[0] if capped else next((v for v in ("FS", "AP", "LS")
                                                 if v in s.variants), None)
        if v_above is not None:
            r = st._run(v_above, LEVEL_ABOVE, 0)
            items.append(r)
            needs[r.name] = [_Calibrate(v_above).name]
    best = best_levels(table[(table["condition"] == PRIMARY) & (table["status"] == "ok")])
    for cond in s.secondary:
        cond_np: set[int] = set(s.seeds)
        runs: list[StrengthRun] = []
        for v in s.variants:
            if v not in best:
                continue
            levs = list(dict.fromkeys(best[v] if x == "best" else x for x in s.secondary_levels))
            for lev in levs:
                seeds = _seeds(table, st, cond.name, v, lev)
                cond_np |= set(seeds)
                for seed in seeds:
                    r = st._run(v, lev, seed, cond.name)
                    runs.append(r)
                    needs[r.name] = [_Calibrate(v).name, *prim_cells[v]]
        items += [st._run("NP", "none", seed, cond.name) for seed in sorted(cond_np)]
        items += runs
    return items, needs


# ---------------------------------------------------------------------------------------------
# workers


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on the study folder (tables are read and written under it)."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    with (out / "results" / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_table(out: Path) -> pd.DataFrame:
    path = out / "results" / "runs.csv"
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=list(RUN_COLUMNS))


def _read_calib(out: Path) -> dict[str, Any]:
    path = out / "results" / "calibration.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_calib(out: Path, calib: dict[str, Any]) -> None:
    with _locked(out), atomic_path(out / "results" / "calibration.json") as tmp:
        tmp.write_text(json.dumps(calib, indent=1))


def _claim(out: Path, name: str) -> bool:
    """Claim an item for this process; a claim whose process has ended is taken over."""
    d = out / "claims"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{name}.claim"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            pid = int(path.read_text() or 0)
            os.kill(pid, 0)
            return False
        except (ValueError, ProcessLookupError, PermissionError):
            path.unlink(missing_ok=True)
            return _claim(out, name)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    return True


def _claimed(out: Path, name: str) -> bool:
    path = out / "claims" / f"{name}.claim"
    if not path.is_file():
        return False
    try:
        os.kill(int(path.read_text() or 0), 0)
        return True
    except (ValueError, ProcessLookupError, PermissionError):
        return False


def _release(out: Path, name: str) -> None:
    (out / "claims" / f"{name}.claim").unlink(missing_ok=True)


def _level_of(calib: dict[str, Any], st: _StrengthStudy, r: StrengthRun
              ) -> tuple[float, float]:
    """(multiplier, nominal ratio) of a run's level."""
    if r.variant == "NP":
        return 0.0, 0.0
    if r.level == LEVEL_PAPER:
        return 1.0, math.nan
    if r.level == LEVEL_ABOVE:
        assert st.s.above_beta_c is not None
        bc = st.beta_c(r.variant)
        return st.s.above_beta_c * float(bc) / PAPER_DEFAULTS["beta"], math.nan
    lv = calib[r.variant]["levels"][r.level]
    return float(lv["multiplier"]), float(lv["nominal"])


def _worker(exp: Experiment, budget_name: str, out: Path, quiet: bool,
            overrides: dict[str, Any], dataset: str, worker: int, threads: int | None,
            max_runs: int | None) -> int:
    """Take and do items until nothing is left that this process can do; returns new runs."""
    if threads:
        torch.set_num_threads(threads)
    st = _StrengthStudy(exp, budget_name, out, quiet, overrides)
    st._dataset = dataset
    new = 0
    while max_runs is None or new < max_runs:
        with _locked(out):
            table, calib = _read_table(out), _read_calib(out)
            items, needs = strength_plan(table, calib, st)
            done = set(table["run"]) | {f"calibrate-{v}" for v, c in calib.items()
                                        if len(c.get("levels", {})) == len(st.s.levels)}
            todo = [it for it in items if it.name not in done]
            ready = [it for it in todo if all(n in done for n in needs.get(it.name, []))]
            pick = next((it for it in ready if _claim(out, it.name)), None)
        if pick is None:
            if not todo:
                break
            if not any(_claimed(out, it.name) for it in todo):
                break  # waiting on nothing that runs: a failed dependency
            time.sleep(5)
            continue
        try:
            _log(f"[priors-strength] worker {worker}: {pick.name} "
                 f"({len(items) - len(todo) + 1}/{len(items)} planned)", quiet)
            if isinstance(pick, _Calibrate):
                st.calibrate(pick.variant, _read_calib(out),
                             lambda c: _write_calib(out, _merge_calib(out, c)))
            else:
                mult, nominal = _level_of(calib, st, pick)
                row = st.run_one(pick, mult, nominal)
                with _locked(out):
                    table = _read_table(out)
                    table = pd.concat([table.astype(object), pd.DataFrame([row])],
                                      ignore_index=True)
                    with atomic_path(out / "results" / "runs.csv") as tmp:
                        table[list(RUN_COLUMNS)].to_csv(tmp, index=False)
                new += 1
        finally:
            _release(out, pick.name)
    return new


def _merge_calib(out: Path, mine: dict[str, Any]) -> dict[str, Any]:
    """The calibration file with this process's variants replaced by ``mine``'s."""
    now = _read_calib(out)
    now.update(mine)
    return now


def _worker_main(args: tuple[Any, ...]) -> int:
    try:
        return _worker(*args)
    except KeyboardInterrupt:
        return 0
    except Interrupted:
        return 0


def run_priors_strength(exp: Experiment, budget_name: str, out_dir: str | Path, *,
                        quiet: bool = False, overrides: dict[str, Any] | None = None,
                        max_runs: int | None = None, workers: int = 1,
                        threads: int | None = None
                        ) -> tuple[pd.DataFrame, Path, Path, list[str]]:
    """Run (or resume) the strength study of ``exp`` under ``budget_name``; write its report.

    Args:
        exp: The priors-strength experiment (its budgets carry ``strength`` sections).
        budget_name: "smoke", "cpu" or "full".
        out_dir: Output folder; rerunning with it resumes (also from another machine, with
            the ``results`` folder copied: finished runs and the calibration are kept).
        quiet: No progress output.
        overrides: Dotted training-config overrides applied to every run.
        max_runs: Stop each worker after this many newly finished runs.
        workers: Processes sharing the folder (each claims its own runs).
        threads: torch threads per worker (default: torch's own choice; 1 per worker is
            fastest on a small machine).

    Returns:
        (per-slice results of the finished runs, report.md, report.html, skipped notes).
    """
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    out = Path(out_dir)
    for sub in ("slices", "crops"):
        (out / "results" / sub).mkdir(parents=True, exist_ok=True)
    budget = exp.budget(budget_name)
    has_shared = shared_data_root().is_dir()
    datasets = [d for d in exp.datasets if budget.datasets is None or d.name in budget.datasets]
    skipped = [f"{d.name} (needs ../shared/data, which is absent)" for d in datasets
               if d.needs_shared_data and not has_shared]
    names = [d.name for d in datasets if not (d.needs_shared_data and not has_shared)]
    if not names:
        raise InputError(f"{exp.name}: nothing to run under budget {budget_name} "
                         f"(skipped: {', '.join(skipped) or 'none'})")
    args = (exp, budget_name, out, quiet, overrides or {}, names[0])
    t0 = time.perf_counter()
    if workers == 1:
        _worker(*args, 1, threads, max_runs)
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            pool.map(_worker_main, [(*args, k + 1, threads, max_runs) for k in range(workers)])
    st = _StrengthStudy(exp, budget_name, out, True, overrides or {})
    st._dataset = names[0]
    table, calib = _read_table(out), _read_calib(out)
    items, _ = strength_plan(table, calib, st)
    n_runs = sum(isinstance(it, StrengthRun) for it in items)
    _log(f"[priors-strength] {len(table)}/{n_runs} runs finished "
         f"({time.perf_counter() - t0:.0f} s)", quiet)
    parts = [pd.read_csv(out / "results" / "slices" / f"{name}.csv").assign(run=name)
             for name, status in zip(table["run"], table["status"], strict=True)
             if status == "ok"]
    slices = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run"])
    md, html = write_strength_report(exp, budget_name, table, slices, calib, out, n_runs,
                                     skipped)
    if len(slices):
        meta = table.set_index("run")[["condition", "level"]]
        slices = slices.join(meta, on="run")
        slices["dataset"] = slices["dataset"] + "-" + slices["condition"]
        slices["method"] = slices["method"] + "@" + slices["level"]
    slices["fraction"] = 1.0
    return slices, md, html, skipped
