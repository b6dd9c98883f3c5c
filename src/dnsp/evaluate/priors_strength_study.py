"""The state of a priors-strength run: configs, data, pilots, calibration, one scored run.

See :mod:`dnsp.evaluate.priors_strength` for the study; this is its machinery on top of the
priors study's (:class:`dnsp.evaluate.priors_study._Study`)."""


from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnsp.errors import InputError, Interrupted
from dnsp.evaluate.experiments import Experiment, dotted_to_nested
from dnsp.evaluate.priors_strength_settings import (
    PRIMARY,
    StrengthRun,
    StrengthSettings,
    next_multiplier,
)
from dnsp.evaluate.priors_strength_stats import (
    LEVEL_PAPER,
    level_name,
)
from dnsp.evaluate.priors_study import _Study
from dnsp.evaluate.runs import subject_runs
from dnsp.evaluate.study_parts import GradientProbe, patch_statistics, predict_slices
from dnsp.fsutil import atomic_path
from dnsp.losses import PAPER_DEFAULTS, DNSPLoss, variant_weights
from dnsp.metrics import evaluate_slices, hfen
from dnsp.nets import count_parameters
from dnsp.train.checkpoint import load_checkpoint
from dnsp.train.config import TrainConfig
from dnsp.train.data import TrainData, load_train_data
from dnsp.train.trainer import Trainer, TrainingDiverged, TrainingInterrupted, build_model
from dnsp.yamlio import deep_merge, read_yaml

#: Columns of ``results/runs.csv`` (one row per finished run).
_LOG = logging.getLogger(__name__)

__all__ = ["StrengthStudy", "crop_index", "log"]

def log(msg: str, quiet: bool) -> None:
    if not quiet:
        _LOG.info(msg)


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


class StrengthStudy(_Study):
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
                    log(f"[priors-strength] pilot {variant} x{m:.4g} (target {target:.3g})",
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
            log(f"[priors-strength] training {r.name} (x{multiplier:.4g})"
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
        k = crop_index(subjects)
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


def crop_index(subjects: list[str]) -> int:
    """The slice kept for the crop figure: the middle test slice of the first subject."""
    first = next(subject_runs(subjects))
    return (first[1] + first[2]) // 2


