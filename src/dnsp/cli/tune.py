"""``dnsp tune --config FILE``: choose alpha, beta, gamma and the reduction on validation data."""

from __future__ import annotations

import argparse

from dnsp.cli.train import add_config_arguments

NAME = "tune"
HELP = "choose the prior weights (alpha, beta, gamma) and the reduction on a validation split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``dnsp tune``."""
    add_config_arguments(parser, "training config with a 'tune' section (see configs/tune/)",
                         "tune.epochs=1 data.max_patches=2000")
    parser.add_argument("--out", metavar="DIR", required=True,
                        help="output folder for tune.csv, chosen.yml and the trial runs")
    parser.add_argument("--quiet", action="store_true", help="print only the final choice")


def run(args: argparse.Namespace) -> int:
    """Run the search and print the chosen weights."""
    from dnsp.train.data import load_train_data
    from dnsp.train.tune import load_tune_config, tune

    cfg, space = load_tune_config(args.config, args.overrides)
    data = load_train_data(cfg.data)
    chosen, trials = tune(cfg, space, data, args.out, quiet=args.quiet,
                          log=lambda line: print(line, flush=True))
    print(f"chosen after {len(trials)} trainings: variant={chosen.variant} "
          f"reduction={chosen.reduction} alpha={chosen.alpha:g} beta={chosen.beta:g} "
          f"gamma={chosen.gamma:g} (val PSNR {chosen.psnr:.3f}, SSIM {chosen.ssim:.4f}); "
          f"table in {args.out}/tune.csv, choice in {args.out}/chosen.yml")
    return 0
