"""``dnsp reproduce``: run one of the paper's experiments end to end and write its report.

For each dataset x scale x training fraction of the experiment (reduced by the budget), each
method is trained if it is a network (a resumable run under ``OUT/runs``) and scored on the
test slices; per-slice results are kept per method under ``OUT/results/parts`` so that an
interrupted reproduction continues where it stopped. The report (``report.md`` and a
self-contained ``report.html``) holds the measured tables next to the paper's, paired tests,
ANOVA, figures, the configs used and the versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnsp.acquisition.lowfield import simulate_low_field
from dnsp.data.io import load_volume, save_volume
from dnsp.data.pairs import make_pairs_folder
from dnsp.data.prepare import load_eval_slices
from dnsp.data.spec import SRDataSpec, discover_subjects
from dnsp.errors import InputError, Interrupted
from dnsp.evaluate.experiments import Budget, DatasetDef, Experiment, MethodDef, dotted_to_nested
from dnsp.evaluate.priors_strength import run_priors_strength
from dnsp.evaluate.priors_study import run_priors_study
from dnsp.evaluate.reporting import build_report
from dnsp.evaluate.runs import EvalSet, evaluate_method, load_eval_set, subject_runs
from dnsp.fsutil import atomic_path
from dnsp.methods import SRMethod, build_method, has_capability
from dnsp.methods.pretrained import default_model
from dnsp.metrics import read_records_csv, write_records_csv
from dnsp.paths import shared_data_root
from dnsp.train.config import config_from_dict
from dnsp.train.trainer import TrainingInterrupted, train
from dnsp.yamlio import deep_merge

__all__ = ["ReproduceResult", "reproduce"]

_SPEC_FIELDS = {f for f in SRDataSpec.__dataclass_fields__}


@dataclass
class ReproduceResult:
    """What a reproduction produced."""

    out_dir: Path
    results: pd.DataFrame
    report_md: Path
    report_html: Path
    skipped: list[str]


Log = Callable[[str], None]


def _silent(_line: str) -> None:
    """The default progress log: nothing (the command line passes a printer)."""


def _prepare_dataset(ds: DatasetDef, out: Path, say: Log) -> dict[str, Any]:
    """Return the data section for ``ds``, building derived pair folders when needed."""
    data = dict(ds.data)
    if data.get("source") == "ixi" and not data.get("root"):
        root = shared_data_root()
        if not root.is_dir():
            raise InputError(f"IXI data not found ({root / 'ixi-t1-2mm'}); pass data.root")
        data["root"] = str(root / "ixi-t1-2mm")
    if ds.prepare is None:
        return data
    src = SRDataSpec(**{k: v for k, v in data.items() if k in _SPEC_FIELDS})
    paths = [s.files[0] for s in discover_subjects(src)]
    folder = out / "derived" / f"{ds.name}-{ds.prepare}"
    marker = folder / "done.json"
    if not marker.is_file():
        say(f"[reproduce] preparing {ds.prepare} pairs for {ds.name} in {folder}")
        if ds.prepare == "registered_pairs":
            make_pairs_folder(paths, folder, **ds.prepare_params)
        elif ds.prepare == "lowfield":
            _make_lowfield_pairs(paths, folder, **ds.prepare_params)
        else:
            raise InputError(f"dataset {ds.name}: unknown prepare step {ds.prepare!r} "
                             "(valid: lowfield, registered_pairs)")
        with atomic_path(marker) as tmp:
            tmp.write_text(json.dumps({"n": len(paths)}))
    return {**{k: v for k, v in data.items() if k not in ("source", "root", "pattern")},
            "source": "pairs", "root": str(folder)}


def _make_lowfield_pairs(paths: list[Path], folder: Path, b_high: float = 3.0,
                         b_low: float = 1.5, relaxation_factor: float = 1.0,
                         seed: int = 0) -> None:
    """HR = the 3 T volume, LR = its simulated low-field version on the same grid (Sec. IV-E)."""
    for sub in ("hr", "lr"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for k, p in enumerate(paths):
        vol = load_volume(p)
        name = Path(p).name.split(".")[0] + ".nii.gz"
        low = simulate_low_field(vol.data, b_high, b_low, relaxation_factor, seed=seed + k)
        save_volume(vol.data, vol.affine, folder / "hr" / name, like=vol)
        save_volume(low.data, vol.affine, folder / "lr" / name, like=vol)


def _train_config(exp: Experiment, m: MethodDef, budget: Budget, data: dict[str, Any],
                  run_dir: Path, quiet: bool, overrides: dict[str, Any]) -> Any:
    cfg = deep_merge(exp.train, m.train or {})
    cfg = deep_merge(cfg, {"data": data})
    cfg = deep_merge(cfg, dotted_to_nested(budget.train))
    model = cfg.get("model", {}).get("name", "edsr-small")
    cfg = deep_merge(cfg, dotted_to_nested(budget.model_train.get(model, {})))
    if model in budget.model_map:
        target = budget.model_map[model]
        cfg = deep_merge(cfg, {"model": target if isinstance(target, dict) else {"name": target}})
    cfg = deep_merge(cfg, dotted_to_nested(overrides))
    cfg = deep_merge(cfg, {"name": m.name, "run": {"out_dir": str(run_dir),
                                                     "progress": not quiet}})
    return config_from_dict(cfg).validate()


def _trained_method(exp: Experiment, m: MethodDef, budget: Budget, data: dict[str, Any],
                    run_dir: Path, es: EvalSet, quiet: bool, overrides: dict[str, Any],
                    say: Log = _silent) -> SRMethod:
    """Train ``m`` (resumable) and return its network with the acquisition of ``es``."""
    cfg = _train_config(exp, m, budget, data, run_dir, quiet, overrides)
    done = run_dir / "done.json"
    if not done.is_file():
        resume = (run_dir / "last.pt").is_file()
        say(f"[reproduce] training {m.name} -> {run_dir}" + (" (resuming)" if resume else ""))
        try:
            result = train(cfg, resume=resume, quiet=quiet)
        except TrainingInterrupted as exc:
            raise Interrupted(f"{exc}; rerun the same command to resume") from None
        with atomic_path(done) as tmp:
            tmp.write_text(json.dumps({"epochs": result.epochs, "best": result.best_value}))
    ckpt = run_dir / "best.pt" if (run_dir / "best.pt").is_file() else run_dir / "last.pt"
    return build_method(str(ckpt), acquisition=es.acquisition, name=m.name)


def _baseline_method(m: MethodDef, budget: Budget, spec: SRDataSpec,
                     max_subjects: int | None) -> SRMethod:
    params = {**m.params, **budget.baseline_params.get(m.name, {})}
    method = build_method(m.baseline or "", params=params)
    if has_capability(method, "learns_from_examples"):  # e.g. SRSW's patch library
        hr, _, subjects, _ = load_eval_slices(spec, "train")
        stacks = [hr[a:b] for _, a, b in subject_runs(subjects)]
        method.fit(stacks[: max_subjects] if max_subjects else stacks, spec.scale)  # type: ignore[attr-defined]
    return method


def _pretrained_method(m: MethodDef, es: EvalSet) -> SRMethod | None:
    """A shipped model as a method, or None when ``pretrained: default`` has no model."""
    if m.pretrained == "default":
        try:
            default_model(es.scale)
        except InputError:
            return None
        return build_method(None, acquisition=es.acquisition, name=m.name)
    return build_method(str(m.pretrained), acquisition=es.acquisition, name=m.name)


def _sample_index(es: EvalSet) -> int:
    first = es.subjects[0]
    n = sum(1 for s in es.subjects if s == first)
    return n // 2


def reproduce(
    exp: Experiment, budget_name: str, out_dir: str | Path, *, quiet: bool = False,
    overrides: dict[str, Any] | None = None,
    report_hook: Callable[[Any, pd.DataFrame], None] | None = None,
    workers: int = 1, threads: int | None = None,
    log: Log | None = None,
) -> ReproduceResult:
    """Run ``exp`` under the budget ``budget_name`` into ``out_dir`` (resumable).

    Args:
        exp: The experiment definition.
        budget_name: "smoke", "cpu" or "full".
        out_dir: Output folder (created); rerunning with the same folder resumes.
        quiet: No progress output.
        overrides: Dotted training-config overrides applied to every trained method last
            (e.g. ``{"loss.reduction": "sum"}``).
        report_hook: Called as ``hook(report, results)`` before the report is written (the
            demo adds its own sections this way).
        workers: Worker processes sharing ``out_dir`` (priors-strength only).
        threads: torch threads per worker (priors-strength only; default: torch's choice).
        log: Called with one progress line per step (dataset prepared, method run, training
            started); ``None``: no lines (the command line passes a printer).
    """
    say = log or _silent
    if exp.name == "priors-study":  # a seeded grid with its own runner and report (issue 17)
        res = run_priors_study(exp, budget_name, out_dir, quiet=quiet, overrides=overrides)
        return ReproduceResult(Path(out_dir), *res)
    if exp.name == "priors-strength":  # the priors at measured strengths (issue 29)
        res = run_priors_strength(exp, budget_name, out_dir, quiet=quiet, overrides=overrides,
                                  workers=workers, threads=threads)
        return ReproduceResult(Path(out_dir), *res)
    budget = exp.budget(budget_name)
    out = Path(out_dir)
    (out / "results" / "parts").mkdir(parents=True, exist_ok=True)
    (out / "results" / "samples").mkdir(parents=True, exist_ok=True)
    has_shared = shared_data_root().is_dir()
    datasets = [d for d in exp.datasets if budget.datasets is None or d.name in budget.datasets]
    skipped = [f"{d.name} (needs ../shared/data, which is absent)" for d in datasets
               if d.needs_shared_data and not has_shared]
    datasets = [d for d in datasets if not (d.needs_shared_data and not has_shared)]
    methods = [m for m in exp.methods if budget.methods is None or m.name in budget.methods]
    scales = budget.scales or exp.scales
    fractions = budget.fractions or exp.fractions
    parts: list[pd.DataFrame] = []
    for ds in datasets:
        data = _prepare_dataset(ds, out, say)
        for scale in scales:
            spec_data = {**data, "scale": int(scale)}
            spec = SRDataSpec(**{k: v for k, v in spec_data.items() if k in _SPEC_FIELDS})
            es = load_eval_set(ds.name, spec, max_subjects=budget.max_subjects,
                               max_slices=budget.max_slices)
            for frac in fractions:
                tag = f"{ds.name}-x{scale}-f{round(100 * frac)}"
                for m in methods:
                    if m.kind == "baseline" and frac != fractions[-1] and len(fractions) > 1:
                        continue  # model-free methods do not depend on the training fraction
                    part = out / "results" / "parts" / f"{tag}-{m.name}.csv"
                    if not part.is_file():
                        say(f"[reproduce] {tag}: {m.name}")
                        method: SRMethod | None
                        if m.kind == "baseline":
                            method = _baseline_method(m, budget, spec, budget.max_subjects)
                        elif m.kind == "pretrained":
                            method = _pretrained_method(m, es)
                            if method is None:
                                skipped.append(f"{m.name} (no shipped x{scale} model)")
                                continue
                        else:
                            d = {**spec_data, "train_fraction": frac,
                                 "cache_dir": str(out / "cache")}
                            method = _trained_method(exp, m, budget, d,
                                                     out / "runs" / tag / m.name, es, quiet,
                                                     overrides or {}, say)
                        records, preds = evaluate_method(method, es, name=m.name,
                                                         progress=not quiet)
                        k = _sample_index(es)
                        np.save(out / "results" / "samples" / f"{tag}-{m.name}.npy", preds[k])
                        write_records_csv(records, part)
                    df = pd.DataFrame([r.__dict__ for r in read_records_csv(part)])
                    df["fraction"] = frac
                    parts.append(df)
            np.save(out / "results" / "samples" / f"{ds.name}-x{scale}-HR.npy",
                    es.hr[_sample_index(es)])
            np.save(out / "results" / "samples" / f"{ds.name}-x{scale}-LR.npy",
                    es.lr[_sample_index(es)])  # the report's input panel
    if not parts:
        raise InputError(f"experiment {exp.name}: nothing to run under budget {budget_name} "
                         f"(skipped: {', '.join(skipped) or 'none'})")
    results = pd.concat(parts, ignore_index=True)
    with atomic_path(out / "results" / "per_slice.csv") as tmp:
        results.to_csv(tmp, index=False)
    report = build_report(exp, budget_name, budget, results, out, skipped)
    if report_hook is not None:
        report_hook(report, results)
    md, html = report.write(out)
    return ReproduceResult(out, results, Path(md), Path(html), skipped)

