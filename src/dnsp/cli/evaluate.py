"""``dnsp evaluate``: score methods on datasets at several scales (per-slice CSV + report)."""

from __future__ import annotations

import argparse

NAME = "evaluate"
HELP = "evaluate methods x datasets x scales: per-slice PSNR/SSIM CSV, statistics and a report"


def add_arguments(p: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
    from dnsp.evaluate.cli_eval import run_evaluate

    return run_evaluate(args)
