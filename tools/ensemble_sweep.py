"""Gain over bicubic of a model on the test sets for self-ensembles of K = 1, 2, 4, 8 passes.

Usage: ``python tools/ensemble_sweep.py SCALE [MODEL_OR_CHECKPOINT]`` (default: the shipped
DNSP model for SCALE). Needs ``../shared/data``; one thread.
"""

from __future__ import annotations

import argparse

import torch

from dnsp.evaluate.measure import evaluate_methods, load_test_set
from dnsp.methods import get_method
from dnsp.methods.network import ENSEMBLE_SIZES, NetworkMethod
from dnsp.methods.pretrained import load_model

TEST_SETS = ("ixi-test", "chris_t1", "mr-gd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scale", type=int)
    parser.add_argument("model", nargs="?", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net, _ = load_model(args.model or f"dnsp-edsr-ap-x{args.scale}")
    methods = {"bicubic": get_method("bicubic")}
    methods |= {f"K{k}": NetworkMethod(net, args.scale, ensemble=k) for k in ENSEMBLE_SIZES}
    for name in TEST_SETS:
        hr, lr, subjects = load_test_set(name, args.scale)
        res = evaluate_methods(methods, hr, lr, subjects, args.scale)
        base = res["bicubic"]["psnr"]
        gains = {k: round(v["psnr"] - base, 2) for k, v in res.items() if k != "bicubic"}
        print(f"x{args.scale} {name}: {gains}", flush=True)


if __name__ == "__main__":
    main()
