"""``dnsp train --config FILE [key=value ...]``: train a network with a DNSP loss."""

from __future__ import annotations

import argparse
import sys

NAME = "train"
HELP = "train a super-resolution network with the DNSP priors from a YAML config"


def add_config_arguments(parser: argparse.ArgumentParser, config_help: str,
                         example: str) -> None:
    """``--config FILE`` and the positional dotted ``key=value`` overrides (train, tune)."""
    parser.add_argument("--config", metavar="FILE", help=config_help)
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help=f"dotted overrides, e.g. {example}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``dnsp train``."""
    add_config_arguments(
        parser, "YAML experiment config (see configs/train/); defaults when omitted",
        "loss.variant=NP optim.epochs=5")
    parser.add_argument("--out", metavar="DIR", help="output folder (same as run.out_dir=DIR)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in the output folder from its last.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved config as YAML and exit")
    parser.epilog = ("Multi-GPU / multi-node: torchrun --nproc_per_node N -m dnsp.cli train "
                     "--config FILE (DDP is detected from torchrun's environment).")


def run(args: argparse.Namespace) -> int:
    """Load the config, train, and report where the checkpoints are."""
    import yaml

    from dnsp.train.config import config_to_dict, load_config
    from dnsp.train.ddp import dist_from_env
    from dnsp.train.trainer import TrainingInterrupted, train

    overrides = list(args.overrides)
    if args.out:
        overrides.append(f"run.out_dir={args.out}")
    cfg = load_config(args.config, overrides)
    if args.print_config:
        sys.stdout.write(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        return 0
    env = dist_from_env()
    main = env is None or env[0] == 0
    try:
        result = train(cfg, resume=args.resume, quiet=args.quiet or not main)
    except TrainingInterrupted as exc:
        if main:
            print(f"dnsp train: {exc}", file=sys.stderr)
        return 130
    if main:
        best = ("n/a" if result.best_value is None
                else f"{result.best_value:.4f} {cfg.run.metric} at epoch {result.best_epoch}")
        print(f"trained {result.epochs} epochs ({result.steps} steps); best {best}; "
              f"checkpoints in {result.out_dir}")
    return 0
