"""Choosing alpha, beta, gamma and the reconstruction reduction on a validation split.

The paper picks its weights "based on cross validation" (Sec. IV-A) and SPEC section 2 asks
for a command that does the same and records the choice. :func:`tune` runs short trainings
(same seed, data and budget for every candidate) and scores each by the validation PSNR (or
SSIM) of its best epoch. The validation split comes from the training pool
(``data.val_fraction``); the test subjects are never used.

Search strategies over the candidate lists of the ``tune`` section:

* ``coordinate`` (default): for each reduction, start from the first value of every list and
  improve one weight at a time (alpha, then beta, then gamma) keeping the best so far;
  ``len(reductions) * (len(alpha) + len(beta) + len(gamma))`` trainings at most;
* ``grid``: the full Cartesian product.

Besides the candidates, the paper's literal values (``reduction: sum``) and the plain network
(variant NP) are trained with the same budget, so the table shows what the priors add.
Outputs in the run folder: ``tune.csv`` (one row per training) and ``chosen.yml`` (the chosen
``loss`` section plus the score, the NP score and the paper-literal score).
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dnsp.errors import InputError
from dnsp.fsutil import atomic_path
from dnsp.losses import DNSPLoss
from dnsp.train.config import (
    REDUCTIONS,
    TrainConfig,
    _from_dict,
    apply_overrides,
    config_from_dict,
)
from dnsp.train.data import TrainData
from dnsp.train.trainer import Trainer, TrainingDiverged
from dnsp.yamlio import read_yaml

__all__ = ["TUNED_KEYS", "Trial", "TuneSpace", "load_tune_config", "tune"]

TUNED_KEYS = ("alpha", "beta", "gamma")
#: The values the paper states (Sec. IV-A), with the per-image sum of Eq. 1.
PAPER_LOSS = {"reduction": "sum", "alpha": 1e-5, "beta": 5e-3, "gamma": 1e-7}


@dataclass
class TuneSpace:
    """The ``tune`` section: candidate values, search strategy and per-trial budget.

    Attributes:
        reductions: Reconstruction reductions to try (``sum`` = Eq. 1, ``mean`` = MSE).
        alpha: Candidates for the low-rank weight.
        beta: Candidates for the sharpness weight.
        gamma: Candidates for the sharpness-measure weight.
        strategy: ``coordinate`` or ``grid``.
        epochs: Training epochs per trial (overrides ``optim.epochs``).
        include_paper: Also train the paper's literal values.
        include_np: Also train the plain network (variant NP).
        stable_only: Skip trials whose beta is above the critical beta of the training patches
            (:meth:`dnsp.losses.DNSPLoss.critical_beta`), where the loss is unbounded below
            and longer training collapses even if a short trial looks good.
    """

    reductions: list[str] = field(default_factory=lambda: ["sum", "mean"])
    alpha: list[float] = field(default_factory=lambda: [1e-5, 1e-3, 1e-1])
    beta: list[float] = field(default_factory=lambda: [5e-3, 5e-1, 5e1])
    gamma: list[float] = field(default_factory=lambda: [1e-7, 1e-5, 1e-3])
    strategy: str = "coordinate"
    epochs: int = 2
    include_paper: bool = True
    include_np: bool = True
    stable_only: bool = True

    def validate(self) -> None:
        """Check the lists and the strategy."""
        if not self.reductions or any(r not in REDUCTIONS for r in self.reductions):
            raise InputError(f"tune.reductions must be a non-empty list of {REDUCTIONS}")
        for key in TUNED_KEYS:
            values = getattr(self, key)
            if not values or any(v < 0 for v in values):
                raise InputError(f"tune.{key} must be a non-empty list of values >= 0")
        if self.strategy not in ("coordinate", "grid"):
            raise InputError(f"tune.strategy {self.strategy!r} is not coordinate or grid")
        if self.epochs < 1:
            raise InputError(f"tune.epochs must be >= 1, got {self.epochs}")


@dataclass
class Trial:
    """One short training of the search."""

    name: str
    variant: str
    reduction: str
    alpha: float
    beta: float
    gamma: float
    psnr: float = float("nan")
    ssim: float = float("nan")
    best_epoch: int | None = None
    seconds: float = 0.0
    beta_c: float | None = None
    note: str = ""

    def key(self) -> tuple[Any, ...]:
        """Identity of the trial's loss settings (for de-duplication)."""
        return (self.variant, self.reduction, self.alpha, self.beta, self.gamma)


def load_tune_config(
    path: str | os.PathLike[str] | None, overrides: Sequence[str] = ()
) -> tuple[TrainConfig, TuneSpace]:
    """Load a tune file: a training config plus a ``tune`` section (``base:`` allowed).

    Overrides starting with ``tune.`` go to the search space, the others to the training
    config.
    """
    data = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, overrides)
    space_raw = data.pop("tune", {}) or {}
    if not isinstance(space_raw, Mapping):
        raise InputError("the 'tune' section must be a mapping")
    space = _from_dict(TuneSpace, space_raw, "tune")
    space.validate()
    cfg = config_from_dict(data)
    if cfg.loss.variant == "NP":
        raise InputError("tuning needs a variant with priors (loss.variant other than NP)")
    return cfg, space


def _critical_beta(base: TrainConfig, trial: Trial, patch: tuple[int, int]) -> float | None:
    """beta_c of the trial's loss at initialisation on ``patch``-sized images (None for NP)."""
    crit = DNSPLoss(trial.variant, reduction=trial.reduction,  # type: ignore[arg-type]
                    filter_norm=base.loss.filter_norm,  # type: ignore[arg-type]
                    n_filters=base.loss.n_filters, seed=base.run.seed)
    return crit.critical_beta(*patch)


def _trial_config(base: TrainConfig, trial: Trial, out_dir: Path, epochs: int) -> TrainConfig:
    cfg = copy.deepcopy(base)
    cfg.loss.variant = trial.variant
    cfg.loss.reduction = trial.reduction
    cfg.loss.alpha, cfg.loss.beta, cfg.loss.gamma = trial.alpha, trial.beta, trial.gamma
    cfg.optim.epochs = epochs
    cfg.run.out_dir = str(out_dir / "trials" / trial.name)
    cfg.run.progress = False
    return cfg.validate()


def _write_table(trials: list[Trial], path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trial", "variant", "reduction", "alpha", "beta", "gamma", "val_psnr",
                "val_ssim", "best_epoch", "seconds", "beta_c", "note"])
    for t in trials:
        w.writerow([t.name, t.variant, t.reduction, f"{t.alpha:g}", f"{t.beta:g}",
                    f"{t.gamma:g}", f"{t.psnr:.4f}", f"{t.ssim:.5f}", t.best_epoch,
                    f"{t.seconds:.1f}", "" if t.beta_c is None else f"{t.beta_c:.4g}", t.note])
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def tune(
    base: TrainConfig,
    space: TuneSpace,
    data: TrainData,
    out_dir: str | os.PathLike[str],
    *,
    quiet: bool = False,
    runner: Callable[[TrainConfig, TrainData], tuple[float, float, int | None]] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Trial, list[Trial]]:
    """Search the weights of ``base.loss.variant``; write ``tune.csv`` and ``chosen.yml``.

    Args:
        base: Training config of every trial (its loss section gives the variant and delta).
        space: Candidates and budget.
        data: Training data with a validation split (from the training pool).
        out_dir: Output folder (trial runs go to ``out_dir/trials/<name>``).
        quiet: No trial lines (even with ``log``).
        runner: Trains one config and returns ``(val_psnr, val_ssim, best_epoch)``; defaults
            to :class:`dnsp.train.trainer.Trainer` (injectable for tests).
        log: Called with one line per trial (the command line passes ``print``).

    Returns:
        The chosen trial and all trials, in run order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metric = base.run.metric
    run_one = runner or _train_trial
    done: dict[tuple[Any, ...], Trial] = {}
    order: list[Trial] = []

    patch = (int(data.train_targets.shape[-2]), int(data.train_targets.shape[-1]))

    def evaluate(trial: Trial) -> Trial:
        if trial.key() in done:
            return done[trial.key()]
        t0 = time.perf_counter()
        trial.beta_c = _critical_beta(base, trial, patch)
        if space.stable_only and trial.beta_c is not None and trial.beta > trial.beta_c:
            trial.psnr = trial.ssim = float("-inf")
            trial.note = "not trained: beta above beta_c (loss unbounded below)"
        else:
            cfg = _trial_config(base, trial, out, space.epochs)
            trial.psnr, trial.ssim, trial.best_epoch = run_one(cfg, data)
        trial.seconds = time.perf_counter() - t0
        done[trial.key()] = trial
        order.append(trial)
        _write_table(order, out / "tune.csv")
        if log is not None and not quiet:
            log(f"[{len(order)}] {trial.name}: {trial.variant} reduction={trial.reduction} "
                  f"alpha={trial.alpha:g} beta={trial.beta:g} gamma={trial.gamma:g} -> "
                  + (trial.note if trial.note else
                     f"PSNR {trial.psnr:.3f} SSIM {trial.ssim:.4f} ({trial.seconds:.0f} s)"))
        return trial

    def score(t: Trial) -> float:
        return t.psnr if metric == "psnr" else t.ssim

    variant = base.loss.variant
    counter = itertools.count(1)

    def make(reduction: str, a: float, b: float, g: float, v: str = variant) -> Trial:
        return Trial(f"t{next(counter):03d}", v, reduction, a, b, g)

    np_trial = paper_trial = None
    if space.include_np:
        np_trial = evaluate(make(space.reductions[0], 0.0, 0.0, 0.0, "NP"))
    if space.include_paper:
        paper_trial = evaluate(make(PAPER_LOSS["reduction"], PAPER_LOSS["alpha"],
                                    PAPER_LOSS["beta"], PAPER_LOSS["gamma"]))
    candidates: list[Trial] = []
    for red in space.reductions:
        if space.strategy == "grid":
            for a, b, g in itertools.product(space.alpha, space.beta, space.gamma):
                candidates.append(evaluate(make(red, a, b, g)))
            continue
        current = {k: getattr(space, k)[0] for k in TUNED_KEYS}
        best = evaluate(make(red, current["alpha"], current["beta"], current["gamma"]))
        candidates.append(best)
        for key in TUNED_KEYS:
            for value in getattr(space, key):
                trial_vals = {**current, key: value}
                t = evaluate(make(red, trial_vals["alpha"], trial_vals["beta"],
                                  trial_vals["gamma"]))
                candidates.append(t)
                if score(t) > score(best):
                    best, current = t, trial_vals
    pool = candidates + ([paper_trial] if paper_trial is not None else [])
    chosen = max(pool, key=score)
    _write_chosen(out / "chosen.yml", base, chosen, np_trial, paper_trial, metric, space)
    return chosen, order


def _write_chosen(path: Path, base: TrainConfig, chosen: Trial, np_trial: Trial | None,
                  paper_trial: Trial | None, metric: str, space: TuneSpace) -> None:
    def summary(t: Trial | None) -> dict[str, Any] | None:
        if t is None:
            return None
        return {"trial": t.name, "val_psnr": round(t.psnr, 4), "val_ssim": round(t.ssim, 5)}

    doc = {
        "loss": {"variant": chosen.variant, "reduction": chosen.reduction,
                 "alpha": chosen.alpha, "beta": chosen.beta, "gamma": chosen.gamma},
        "selection": {
            "metric": f"val_{metric}", "chosen": summary(chosen), "np": summary(np_trial),
            "paper_literal": summary(paper_trial), "strategy": space.strategy,
            "epochs_per_trial": space.epochs, "network": base.model.name,
            "network_params": dict(base.model.params), "data_source": base.data.source,
            "scale": base.data.scale,
        },
    }
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _train_trial(cfg: TrainConfig, data: TrainData) -> tuple[float, float, int | None]:
    try:
        trainer = Trainer(cfg, data, quiet=True)
        res = trainer.fit()
    except TrainingDiverged:
        return float("-inf"), float("-inf"), None
    best = [r for r in res.history if int(r["epoch"]) == res.best_epoch]
    psnr = float(best[0]["val_psnr"]) if best else float("nan")
    ssim = float(best[0]["val_ssim"]) if best else float("nan")
    return psnr, ssim, res.best_epoch
