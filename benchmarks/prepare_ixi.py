"""Benchmark: preparing the IXI training set with :func:`dnsp.data.prepare.prepare_sr_data`.

Each configuration runs in a fresh Python process so that the peak resident memory
(``ru_maxrss``) belongs to that run alone. Prints a Markdown table.

    python benchmarks/prepare_ixi.py [--root ../shared/data/ixi-t1-2mm] [--scales 2 3 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from dnsp.data.sources import default_ixi_root

_CHILD = r"""
import json, resource, sys, time
from dnsp.data.prepare import prepare_sr_data
from dnsp.data.spec import SRDataSpec
root, scale, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
d = prepare_sr_data(SRDataSpec(source="ixi", root=root, scale=scale), cache_dir=cache or None)
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "peak_rss_mb": resource.getrusage(
    resource.RUSAGE_SELF).ru_maxrss / 1024, "patches": int(d.train_inputs.shape[0]),
    "images": d.meta["n_train_images"], "val": int(d.val_inputs.shape[0]),
    "sharp": int(d.sharp.shape[0])}))
"""


def _run(root: str, scale: int, cache: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, root, str(scale), cache],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Run the benchmark and print the table."""
    default = default_ixi_root()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(default))
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 3, 4])
    args = parser.parse_args()
    print("| scale | run | time (s) | peak RSS (MiB) | train images | patches | val slices "
          "| N_T |")
    print("|---|---|---|---|---|---|---|---|")
    for s in args.scales:
        with tempfile.TemporaryDirectory() as cache:
            for label in ("build + write cache", "load from cache"):
                r = _run(args.root, s, cache)
                print(f"| {s} | {label} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} | "
                      f"{r['images']} | {r['patches']} | {r['val']} | {r['sharp']} |")
        r = _run(args.root, s, "")
        print(f"| {s} | build, no cache | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} | "
              f"{r['images']} | {r['patches']} | {r['val']} | {r['sharp']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
