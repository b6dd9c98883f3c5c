"""``dnsp reproduce EXPERIMENT --budget smoke|cpu|full --out DIR``."""

from __future__ import annotations

import argparse

NAME = "reproduce"
HELP = "run one of the paper's experiments (table1..table5, fig15) and write its report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="table1 .. table5, fig15, demo, priors-study, "
                                      "priors-strength, or a YAML path")
    p.add_argument("--budget", choices=("smoke", "cpu", "full"), default="smoke",
                   help="smoke: minutes on a CPU; cpu: a few hours on 2 cores; full: the "
                        "paper's protocol for a GPU (default: smoke)")
    p.add_argument("--out", required=True, help="output folder (rerun to resume)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="training-config override for every trained method, e.g. "
                        "loss.reduction=sum (repeatable; use a new --out)")
    p.add_argument("--methods", default=None, metavar="A,B",
                   help="run (or report) only these methods of the experiment")
    p.add_argument("--datasets", default=None, metavar="A,B",
                   help="run (or report) only these datasets of the experiment")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="priors-strength: N worker processes sharing --out (default 1)")
    p.add_argument("--threads", type=int, default=None, metavar="T",
                   help="priors-strength: torch threads per worker (1 is fastest with "
                        "--workers equal to the cores)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from dnsp.errors import InputError
    from dnsp.evaluate.experiments import load_experiment, restrict
    from dnsp.evaluate.reporting import summary_table
    from dnsp.evaluate.reproduce import reproduce
    from dnsp.train.config import parse_overrides

    exp = load_experiment(args.experiment)
    exp = restrict(exp, args.budget, args.methods, args.datasets)
    overrides = _flatten(parse_overrides(args.set))
    if (args.workers != 1 or args.threads is not None) and exp.name != "priors-strength":
        raise InputError("--workers and --threads are for priors-strength only")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    res = reproduce(exp, args.budget, args.out, quiet=args.quiet, overrides=overrides,
                    workers=args.workers, threads=args.threads,
                    log=None if args.quiet else _stderr)
    table = summary_table(res.results)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for s in res.skipped:
        print(f"skipped: {s}")
    print(f"report: {res.report_md} and {res.report_html}")
    return 0


def _flatten(nested: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in nested.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _stderr(line: str) -> None:
    """Progress lines go to stderr (the results table to stdout)."""
    import sys

    print(line, file=sys.stderr, flush=True)
