"""``dnsp evaluate``: score methods on datasets at several scales (per-slice CSV + report)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing only: the dispatcher imports this module, so it stays light
    from dnsp.data.spec import SRDataSpec

NAME = "evaluate"
HELP = "evaluate methods x datasets x scales: per-slice PSNR/SSIM CSV, statistics and a report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    p.add_argument("--method", action="append", required=True, metavar="M",
                   help="bicubic | lrtv | srsw | model:NAME_OR_CHECKPOINT (a shipped model "
                        "or a model/checkpoint file; repeatable)")
    p.add_argument("--dataset", action="append", required=True, metavar="D",
                   help="embedded | ixi:ROOT | brainweb:ROOT | folder:ROOT | pairs:ROOT "
                        "(repeatable; the test split is scored)")
    p.add_argument("--scale", action="append", type=int, metavar="S",
                   help="scale factor (repeatable; default 2)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-subjects", type=int, default=None)
    p.add_argument("--max-slices", type=int, default=None, help="central slices per subject")
    p.add_argument("--split", choices=("test", "val", "train"), default="test")


def parse_dataset(text: str, scale: int) -> tuple[str, SRDataSpec]:
    """``"ixi:/data/ixi"`` -> ("ixi", SRDataSpec(source="ixi", root=..., scale=...))."""
    from dnsp.data.sources import available_sources
    from dnsp.data.spec import SRDataSpec
    from dnsp.errors import InputError

    source, _, root = text.partition(":")
    if source not in available_sources():
        raise InputError(f"unknown dataset source {source!r}; valid: "
                         f"{', '.join(available_sources())}")
    if source != "embedded" and not root:
        raise InputError(f"dataset {text!r} needs a folder: {source}:ROOT")
    if root and not Path(root).exists():
        raise InputError(f"dataset folder not found: {root}")
    name = source if source == "embedded" else f"{source}:{Path(root).name}"
    return name, SRDataSpec(source=source, root=root or None, scale=scale)


def run(args: argparse.Namespace) -> int:
    """Every method on every dataset and scale; CSV, tables and a report."""
    import pandas as pd

    from dnsp.evaluate.paired import format_paired_table, paired_comparisons
    from dnsp.evaluate.report import Report
    from dnsp.evaluate.reporting import gain_table, summary_table
    from dnsp.evaluate.runs import evaluate_method, load_eval_set
    from dnsp.fsutil import atomic_path
    from dnsp.methods import build_method
    from dnsp.metrics import write_records_csv

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
