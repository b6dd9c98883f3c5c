"""Wall time per participant of ``dnsp bids`` on a synthetic cohort, with 1 and 2 shards.

Writes a synthetic raw BIDS dataset (``dnsp.bids.synthetic``: 20 participants, one session,
T1w and T2w by default), then runs the cohort as N concurrent ``dnsp bids ... --shard i/N``
processes (as a job array would) for each N in ``--shards``, each into a fresh output folder,
and reports the wall time of the whole cohort and per participant. Each of the N processes
gets ``--threads max(1, cores // N)`` (or ``--threads-per-shard``). Process start-up
(importing torch, loading the model) is part of the time, as it is for a job array.

Usage::

    python benchmarks/bids_cohort.py --method bicubic
    python benchmarks/bids_cohort.py                   # the shipped default model
    python benchmarks/bids_cohort.py --shape 64 64 16 --participants 20 --shards 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dnsp.bids.synthetic import make_synthetic_dataset


def run_cohort(src: Path, out: Path, shards: int, extra: list[str], threads: int) -> float:
    """Run the cohort as ``shards`` concurrent processes; return the wall time (s)."""
    cmd = [sys.executable, "-m", "dnsp", "bids", str(src), str(out), "participant", "-q",
           "--threads", str(threads), *extra]
    start = time.perf_counter()
    procs = [subprocess.Popen([*cmd, "--shard", f"{i}/{shards}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(1, shards + 1)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"shard failed ({proc.returncode}): {err.strip()}")
    return time.perf_counter() - start


def main() -> None:
    """Parse arguments, build the cohort, time each shard count, print a JSON record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--shape", type=int, nargs=3, default=(64, 64, 16))
    parser.add_argument("--shards", type=int, nargs="+", default=(1, 2))
    parser.add_argument("--method", choices=("bicubic", "lrtv", "srsw"), default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--no-qc", action="store_true")
    parser.add_argument("--threads-per-shard", type=int, default=None,
                        help="torch threads of each process (default: cores // shards)")
    parser.add_argument("--work", type=Path, default=None,
                        help="working folder (default: a temporary one, removed)")
    args = parser.parse_args()
    extra = ["--scale", str(args.scale)]
    if args.method:
        extra += ["--method", args.method]
    if args.model:
        extra += ["--model", args.model]
    if args.no_qc:
        extra.append("--no-qc")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        src = work / "raw"
        labels = [f"{k:02d}" for k in range(1, args.participants + 1)]
        images = make_synthetic_dataset(src, labels, ("1",), ("T1w", "T2w"),
                                        tuple(args.shape))
        record = {"participants": args.participants, "images": len(images),
                  "shape": list(args.shape), "scale": args.scale, "cores": cores,
                  "method": args.method or args.model or "default model",
                  "qc": not args.no_qc, "runs": []}
        for n in args.shards:
            threads = args.threads_per_shard or max(1, cores // n)
            wall = run_cohort(src, work / f"out-{n}", n, extra, threads)
            record["runs"].append({"shards": n, "threads_per_shard": threads,
                                   "wall_s": round(wall, 2),
                                   "s_per_participant": round(wall / args.participants, 3)})
            print(f"{n} shard(s) x {threads} thread(s): {wall:.1f} s for "
                  f"{args.participants} participants ({len(images)} images), "
                  f"{wall / args.participants:.2f} s per participant", flush=True)
        print(json.dumps(record))


if __name__ == "__main__":
    main()
