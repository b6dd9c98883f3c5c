"""Training throughput (patches per second) of every network with the NP and AP losses.

CPU part (default): for each network, a few optimiser steps on random 40x40 patches (3-D
DCSRN: batch/8 patches of 8x40x40, counted as 8 slices each), after one warm-up step, through
the same code path as ``dnsp train`` (``build_model``, ``build_loss``, ``build_optimizer``,
``Objective``), with 400 sharp/smooth patch pairs in the AP measure S. GPU part (``--gpu``,
needs CUDA): one epoch of 8,000 40x40 patches (125 steps of 64) of the paper-size EDSR
(32 x 256) with the AP loss under bf16 autocast, run by the real ``Trainer``.

Examples::

    python benchmarks/train_throughput.py                       # CPU table
    python benchmarks/train_throughput.py --gpu --out gpu.json  # paper-size EDSR on CUDA
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from dnsp.nets import count_parameters
from dnsp.train.config import load_config
from dnsp.train.data import TrainData
from dnsp.train.trainer import Objective, Trainer, build_loss, build_model, build_optimizer

CPU_NETWORKS = ["srcnn", "edsr-tiny", "edsr-small", "dcsrn2d", "dcsrn", "lfmri"]
PRIOR_WEIGHTS = ["loss.alpha=1e-5", "loss.beta=5e-3", "loss.gamma=1e-7"]


def _patches(n: int, size: int, depth: int | None, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (n, 1, size, size) if depth is None else (n, 1, depth, size, size)
    return torch.rand(shape, generator=g)


def cpu_case(network: str, variant: str, batch: int, steps: int, patch: int,
             n_sharp: int = 400) -> dict:
    """Time ``steps`` optimiser steps of ``network`` with ``variant`` on the CPU.

    ``n_sharp`` sharp and as many smooth patches enter the measure S of LS/AP (the paper: one
    pair per training image, about 400).
    """
    torch.manual_seed(0)
    cfg = load_config(None, [f"model.name={network}", f"loss.variant={variant}",
                             *PRIOR_WEIGHTS, "run.device=cpu"])
    depth = 8 if network == "dcsrn" else None
    if depth is not None:  # 3-D patches: keep the number of slices per step equal to ``batch``
        batch = max(1, batch // depth)
    x, y = _patches(batch, patch, depth, 1), _patches(batch, patch, depth, 2)
    sharp, smooth = _patches(n_sharp, patch, None, 3), _patches(n_sharp, patch, None, 4)
    data = TrainData(x, y, x[:1], y[:1], sharp=sharp, smooth=smooth)
    model = build_model(cfg.model)
    if hasattr(model, "fit_to_data"):
        model.fit_to_data(y)
    crit = build_loss(cfg.loss, data)
    objective = Objective(model, crit)
    opt = build_optimizer(model, crit, cfg.optim)

    def step() -> None:
        loss = objective(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    slices = batch * (depth or 1)
    return {"network": network, "variant": variant, "params": count_parameters(model),
            "batch": batch, "steps": steps, "seconds": dt,
            "patches_per_s": steps * slices / dt}


def gpu_epoch(n_patches: int = 8000, batch: int = 64, out: Path | None = None) -> dict:
    """One epoch of the paper-size EDSR with AP under bf16 autocast on CUDA (real Trainer)."""
    if not torch.cuda.is_available():
        raise SystemExit("--gpu needs a CUDA device")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(None, [
            "model.name=edsr", "loss.variant=AP", *PRIOR_WEIGHTS, "run.device=cuda",
            "run.amp=bf16", f"optim.batch_size={batch}", "optim.epochs=1",
            "run.tensorboard=false", "run.progress=false", f"run.out_dir={out or tmp}",
        ])
        x, y = _patches(n_patches, 40, None, 1), _patches(n_patches, 40, None, 2)
        val = _patches(4, 120, None, 5)
        data = TrainData(x, y, val, val, sharp=y[:400], smooth=x[:400])
        trainer = Trainer(cfg, data, quiet=True)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = trainer.fit()
        torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        row = res.history[-1]
    return {"network": "edsr (32x256)", "variant": "AP", "amp": "bf16",
            "device": torch.cuda.get_device_name(), "patches": n_patches, "batch": batch,
            "epoch_train_seconds": float(row["seconds"]), "wall_seconds_incl_val": wall,
            "patches_per_s": float(row["patches_per_s"])}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=CPU_NETWORKS)
    ap.add_argument("--variants", nargs="+", default=["NP", "AP"])
    ap.add_argument("--batch", type=int, default=16, help="CPU batch size")
    ap.add_argument("--steps", type=int, default=3, help="timed CPU steps per case")
    ap.add_argument("--patch", type=int, default=40)
    ap.add_argument("--n-sharp", type=int, default=400,
                    help="sharp/smooth patch pairs in the measure S (LS/AP)")
    ap.add_argument("--gpu", action="store_true", help="run the GPU part (needs CUDA)")
    ap.add_argument("--gpu-patches", type=int, default=8000)
    ap.add_argument("--out", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)

    results: dict = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                     "machine": platform.processor() or platform.machine()}
    if args.gpu:
        results["gpu"] = gpu_epoch(args.gpu_patches)
        g = results["gpu"]
        print(f"GPU {g['device']}: paper EDSR + AP, bf16, {g['patches']} patches: "
              f"{g['epoch_train_seconds']:.1f} s/epoch, {g['patches_per_s']:.0f} patches/s")
    else:
        rows = []
        print(f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"batch {args.batch}, {args.patch}x{args.patch} patches, "
              f"{args.n_sharp} sharp/smooth pairs for AP")
        print("| network | params | variant | patches/s |")
        print("|---|---:|---|---:|")
        for net in args.networks:
            for var in args.variants:
                r = cpu_case(net, var, args.batch, args.steps, args.patch, args.n_sharp)
                rows.append(r)
                print(f"| {net} | {r['params']:,} | {var} | {r['patches_per_s']:.1f} |")
                sys.stdout.flush()
        results["cpu"] = rows
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
