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

import json
import math
import multiprocessing as mp
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from dnsp.errors import InputError, Interrupted
from dnsp.evaluate.experiments import Experiment
from dnsp.evaluate.priors_strength_settings import (
    PRIMARY,
    RUN_COLUMNS,
    StrengthRun,
)
from dnsp.evaluate.priors_strength_stats import (
    LEVEL_ABOVE,
    LEVEL_PAPER,
    best_levels,
    level_name,
    strength_intervals,
    write_strength_report,
)
from dnsp.evaluate.priors_strength_study import StrengthStudy, log
from dnsp.evaluate.priors_study import runnable_datasets
from dnsp.evaluate.study_workers import claim, claimed, locked, release
from dnsp.fsutil import atomic_path
from dnsp.losses import PAPER_DEFAULTS, variant_weights
from dnsp.messages import show_messages

#: Columns of ``results/runs.csv`` (one row per finished run).
__all__ = ["run_priors_strength", "strength_plan"]

# ---------------------------------------------------------------------------------------------
# the plan


@dataclass(frozen=True)
class _Calibrate:
    variant: str

    @property
    def name(self) -> str:
        return f"calibrate-{self.variant}"


def _seeds(table: pd.DataFrame, st: StrengthStudy, condition: str, variant: str,
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


def strength_plan(table: pd.DataFrame, calib: dict[str, Any], st: StrengthStudy
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


def _read_table(out: Path) -> pd.DataFrame:
    path = out / "results" / "runs.csv"
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=list(RUN_COLUMNS))


def _read_calib(out: Path) -> dict[str, Any]:
    path = out / "results" / "calibration.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_calib(out: Path, calib: dict[str, Any]) -> None:
    with locked(out), atomic_path(out / "results" / "calibration.json") as tmp:
        tmp.write_text(json.dumps(calib, indent=1))


def _level_of(calib: dict[str, Any], st: StrengthStudy, r: StrengthRun
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
    st = StrengthStudy(exp, budget_name, out, quiet, overrides)
    st._dataset = dataset
    new = 0
    while max_runs is None or new < max_runs:
        with locked(out):
            table, calib = _read_table(out), _read_calib(out)
            items, needs = strength_plan(table, calib, st)
            done = set(table["run"]) | {f"calibrate-{v}" for v, c in calib.items()
                                        if len(c.get("levels", {})) == len(st.s.levels)}
            todo = [it for it in items if it.name not in done]
            ready = [it for it in todo if all(n in done for n in needs.get(it.name, []))]
            pick = next((it for it in ready if claim(out, it.name)), None)
        if pick is None:
            if not todo:
                break
            if not any(claimed(out, it.name) for it in todo):
                break  # waiting on nothing that runs: a failed dependency
            time.sleep(5)
            continue
        try:
            log(f"[priors-strength] worker {worker}: {pick.name} "
                 f"({len(items) - len(todo) + 1}/{len(items)} planned)", quiet)
            if isinstance(pick, _Calibrate):
                st.calibrate(pick.variant, _read_calib(out),
                             lambda c: _write_calib(out, _merge_calib(out, c)))
            else:
                mult, nominal = _level_of(calib, st, pick)
                row = st.run_one(pick, mult, nominal)
                with locked(out):
                    table = _read_table(out)
                    table = pd.concat([table.astype(object), pd.DataFrame([row])],
                                      ignore_index=True)
                    with atomic_path(out / "results" / "runs.csv") as tmp:
                        table[list(RUN_COLUMNS)].to_csv(tmp, index=False)
                new += 1
        finally:
            release(out, pick.name)
    return new


def _merge_calib(out: Path, mine: dict[str, Any]) -> dict[str, Any]:
    """The calibration file with this process's variants replaced by ``mine``'s."""
    now = _read_calib(out)
    now.update(mine)
    return now


def _worker_main(args: tuple[Any, ...]) -> int:
    show_messages()  # a spawned process: the command line's setting is not inherited
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
    names, skipped = runnable_datasets(exp, budget_name)
    args = (exp, budget_name, out, quiet, overrides or {}, names[0])
    t0 = time.perf_counter()
    if workers == 1:
        _worker(*args, 1, threads, max_runs)
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            pool.map(_worker_main, [(*args, k + 1, threads, max_runs) for k in range(workers)])
    st = StrengthStudy(exp, budget_name, out, True, overrides or {})
    st._dataset = names[0]
    table, calib = _read_table(out), _read_calib(out)
    items, _ = strength_plan(table, calib, st)
    n_runs = sum(isinstance(it, StrengthRun) for it in items)
    log(f"[priors-strength] {len(table)}/{n_runs} runs finished "
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
