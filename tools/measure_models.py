"""Measure the shipped models against bicubic and write the JSON (and the model cards).

``python tools/measure_models.py --scales 2 3 4 --out runs/pretrained/measure.json [--cards]``
(the library part is :func:`dnsp.evaluate.measure.measure_models`; needs ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from dnsp.evaluate.measure import measure_models, write_card
from dnsp.fsutil import atomic_path


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, write the JSON, and with ``--cards`` the model cards."""
    parser = argparse.ArgumentParser(prog="python tools/measure_models.py")
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--sets", nargs="+", default=["ixi-test", "chris_t1", "mr-gd"])
    parser.add_argument("--models", nargs="*", default=None,
                        help="model names or checkpoint paths (default: every shipped model "
                        "of the scale)")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--cards", action="store_true",
                        help="also write MODEL_CARD_x<s>.md into the shipped models folder")
    parser.add_argument("--robustness", default=None, metavar="JSON",
                        help="rows of benchmarks/acquisition_robustness.py for the cards")
    args = parser.parse_args(argv)
    report = measure_models(args.scales, args.sets, args.models,
                            log=lambda line: print(line, flush=True))
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.cards:
        rows = (json.loads(Path(args.robustness).read_text(encoding="utf-8"))
                if args.robustness else [])
        for scale in args.scales:
            print(f"wrote {write_card(scale, report, robustness=rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
