"""``dnsp demo``: the main job on the embedded BrainWeb phantom, offline, on a CPU."""

from __future__ import annotations

import argparse

NAME = "demo"
HELP = "train a small EDSR with and without the DNSP priors on the embedded phantom and report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="dnsp-demo", help="output folder (default: ./dnsp-demo; "
                                                      "rerun to resume)")
    p.add_argument("--budget", choices=("smoke", "cpu", "full"), default="cpu",
                   help="cpu (default): about 10 minutes on 2 cores; smoke: a quick pipeline "
                        "check; full: longer training")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from dnsp.evaluate.experiments import load_experiment
    from dnsp.evaluate.reporting import gain_table, summary_table
    from dnsp.evaluate.reproduce import reproduce

    res = reproduce(load_experiment("demo"), args.budget, args.out, quiet=args.quiet,
                    log=None if args.quiet else _stderr)
    cols = ["method", "n", "psnr", "ssim", "psnr_brain", "ssim_brain"]
    table = summary_table(res.results)[cols]
    print("\nx2 on the unseen test slab of the BrainWeb phantom (mean over slices):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    gains = gain_table(res.results)
    if len(gains):
        print("\nmean PSNR gain over bicubic: " + ", ".join(
            f"{r.method} {r.psnr_gain:+.2f} dB" for r in gains.itertuples()))
    for s in res.skipped:
        print(f"skipped: {s}")
    print(f"\nreport: {res.report_md}\n        {res.report_html}")
    return 0


def _stderr(line: str) -> None:
    """Progress lines go to stderr (the results table to stdout)."""
    import sys

    print(line, file=sys.stderr, flush=True)
