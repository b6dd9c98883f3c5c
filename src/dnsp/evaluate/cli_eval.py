"""Implementation of ``dnsp evaluate`` (kept out of the CLI module so it can be reused)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from dnsp.data.datasets import SOURCES, SRDataSpec
from dnsp.errors import InputError
from dnsp.evaluate.report import Report
from dnsp.evaluate.reporting import gain_table, summary_table
from dnsp.evaluate.runs import evaluate_method, load_eval_set
from dnsp.evaluate.stats import format_paired_table, paired_comparisons
from dnsp.fsutil import atomic_path
from dnsp.methods import build_method
from dnsp.metrics import write_records_csv

__all__ = ["parse_dataset", "run_evaluate"]


def parse_dataset(text: str, scale: int) -> tuple[str, SRDataSpec]:
    """``"ixi:/data/ixi"`` -> ("ixi", SRDataSpec(source="ixi", root=..., scale=...))."""
    source, _, root = text.partition(":")
    if source not in SOURCES:
        raise InputError(f"unknown dataset source {source!r}; valid: {', '.join(SOURCES)}")
    if source != "embedded" and not root:
        raise InputError(f"dataset {text!r} needs a folder: {source}:ROOT")
    if root and not Path(root).exists():
        raise InputError(f"dataset folder not found: {root}")
    name = source if source == "embedded" else f"{source}:{Path(root).name}"
    return name, SRDataSpec(source=source, root=root or None, scale=scale)


def run_evaluate(args: argparse.Namespace) -> int:
    """``dnsp evaluate``: every method on every dataset and scale; CSV, tables and a report."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for scale in args.scale or [2]:
        for dtext in args.dataset:
            name, spec = parse_dataset(dtext, scale)
            es = load_eval_set(name, spec, split=args.split, max_subjects=args.max_subjects,
                               max_slices=args.max_slices)
            for mtext in args.method:
                # networks get the data's acquisition (registered pairs: identity, scale 1)
                method = build_method(mtext, acquisition=es.acquisition)
                mname = method.name
                print(f"[evaluate] {name} x{scale}: {mname} on {len(es)} slices", flush=True)
                recs, _ = evaluate_method(method, es, name=mname, progress=True)
                records.extend(recs)
    csv = out / "per_slice.csv"
    write_records_csv(records, csv)
    df = pd.DataFrame([r.__dict__ for r in records])
    df["fraction"] = 1.0
    table = summary_table(df)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    rep = Report("dnsp evaluate")
    rep.add_paragraph("Methods: " + ", ".join(args.method) + ". Datasets: "
                      + ", ".join(args.dataset) + f". Split: {args.split}.")
    rep.add_table(table, "Mean per-slice metrics (data range 1 on the [0, 1]-scaled HR).")
    gains = gain_table(df, reference="bicubic")
    if len(gains):
        rep.add_table(gains, "Mean gain over bicubic on the same slices.")
    if df["method"].nunique() > 1:
        ref = "bicubic" if "bicubic" in set(df["method"]) else df["method"].iloc[0]
        rep.add_table(format_paired_table(paired_comparisons(df, baseline=ref,
                                                             by=("dataset", "scale"))),
                      f"Paired comparisons against {ref} (PSNR, dB).")
    rep.add_environment()
    md, html = rep.write(out)
    with atomic_path(out / "summary.csv") as tmp:
        table.to_csv(tmp, index=False)
    print(f"per-slice results: {csv}\nreport: {md} and {html}")
    return 0
