"""Train and export a shipped model from its recipe.

``OMP_NUM_THREADS=1 python tools/train_recipe.py configs/pretrained/edsr-mix-x2.yml
[key=value ...] [--quiet]`` (the library part is :func:`dnsp.train.recipe.run_recipe`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dnsp.errors import InputError
from dnsp.messages import show_messages
from dnsp.train.recipe import run_recipe


def main(argv: Sequence[str] | None = None) -> int:
    """Run the recipe; one error line and exit status 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python tools/train_recipe.py",
                                     description="train and export a shipped model")
    parser.add_argument("recipe", help="configs/pretrained/*.yml")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_intermixed_args(argv)
    show_messages()  # the trainer's epoch lines and warnings
    try:
        run_recipe(args.recipe, args.overrides, quiet=args.quiet,
                   log=lambda line: print(line, flush=True))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
