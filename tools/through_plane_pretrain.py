"""Pretrain the shipped through-plane model ``dnsp-edsr-through-plane`` (docs/through_plane.md).

Training pairs: fine in-plane images degraded along their rows with a random slice model
(ratio 1.5-6 voxels, thickness 0.6-1.2 x spacing, rect or Gaussian profile) and brought back
with cubic B-spline (:func:`dnsp.methods.through_plane.degrade_rows`). Images: the IXI training
pool (first 20 subjects sorted by name; slices in all three orientations, every 2nd) and the
lower training slab of BrainWeb (axial slices 36-75). One thread, resumable::

    OMP_NUM_THREADS=1 nohup python tools/through_plane_pretrain.py --steps 3500 \
        --out runs/through_plane > runs/through_plane.log 2>&1 &
    OMP_NUM_THREADS=1 nohup python tools/through_plane_pretrain.py --steps 8000 \
        --out runs/through_plane > runs/through_plane_long.log 2>&1 &
    python tools/through_plane_pretrain.py --out runs/through_plane --export

The shipped model: 3500 steps on a cosine schedule over 3500, then resumed with ``--steps 8000``
(a warm restart: the schedule over 8000 steps picks up at step 3500, at 0.6 x the initial
rate) to 8000 steps; about 35 minutes of one thread on a contended 2-core machine in all.
``--stop-after N`` ends a run early with the schedule of ``--steps``.

``--export`` writes ``src/dnsp/infer/models/dnsp-edsr-through-plane.pt`` and adds (or
updates) only its own entry in ``manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from dnsp.acquisition.slices import SliceAcquisition
from dnsp.checkpoint_io import read_torch_file
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume
from dnsp.methods.pretrained import models_dir, save_model_file
from dnsp.methods.through_plane import (
    MODEL_NAME,
    NETWORK,
    NETWORK_KWARGS,
    PairSampler,
    ThroughPlaneSR,
    train_network,
)
from dnsp.paths import shared_data_root

BRAINWEB_TRAIN = range(36, 76)
N_IXI = 20


def training_images() -> list[np.ndarray]:
    """Normalised fine 2-D images of the training pool (see the module docstring)."""
    root = shared_data_root()
    images: list[np.ndarray] = []
    for path in sorted((root / "ixi-t1-2mm").glob("IXI*_T1.nii.gz"))[:N_IXI]:
        vol = load_volume(path).data
        vol = np.clip(vol / percentile_scale(vol)[1], 0, None).astype(np.float32)
        for axis in range(3):
            moved = np.moveaxis(vol, axis, 0)
            images += [moved[k] for k in range(0, moved.shape[0], 2) if moved[k].mean() > 0.05]
    bw = load_volume(root / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz").data
    bw = np.clip(bw / percentile_scale(bw)[1], 0, None).astype(np.float32)
    images += [bw[:, :, z] for z in BRAINWEB_TRAIN]
    return images


def random_acquisition(rng: np.random.Generator) -> SliceAcquisition:
    """A random slice model in fine-voxel units."""
    ratio = float(rng.uniform(1.5, 6.0))
    width = ratio * float(rng.uniform(0.6, 1.2))
    profile = "rect" if rng.random() < 0.5 else "gaussian"
    return SliceAcquisition(max(width, 1.0), ratio, profile, fine_spacing=1.0, axis=-2)


def main(argv: list[str] | None = None) -> int:
    """Train (resuming from ``OUT/last.pt``) and optionally export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("runs/through_plane"))
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--every", type=int, default=200, help="checkpoint every N steps")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after N steps (the cosine schedule still spans --steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export", action="store_true", help="export the finished run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt = args.out / "last.pt"
    net = ThroughPlaneSR.fresh_network()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    done, seconds = 0, 0.0
    if ckpt.is_file():
        state = read_torch_file(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        done, seconds = int(state["step"]), float(state["seconds"])
        print(f"resumed at step {done}", flush=True)
    if args.export:
        return export(net, done, seconds, args)
    sampler = PairSampler(training_images(), patch=args.patch, seed=args.seed + done)
    last = args.steps if args.stop_after is None else min(args.steps, args.stop_after)
    while done < last:
        n = min(args.every, last - done)
        for group in opt.param_groups:  # cosine decay over the whole run, per chunk
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * done / args.steps))
        t0 = time.perf_counter()
        rep = train_network(net, sampler, random_acquisition, steps=n, batch=args.batch,
                            optimizer=opt)
        done += rep.steps
        seconds += time.perf_counter() - t0
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": done,
                    "seconds": seconds}, ckpt)
        print(f"step {done}/{args.steps} loss {rep.loss_end:.5f} ({seconds:.0f} s)", flush=True)
    return 0


def export(net: torch.nn.Module, steps: int, seconds: float, args: argparse.Namespace) -> int:
    """Write the model file and its manifest entry."""
    folder = models_dir()
    name = f"{MODEL_NAME}.pt"
    meta = {"kind": "through-plane", "steps": steps, "recipe": "tools/through_plane_pretrain.py"}
    sha = save_model_file(net, NETWORK, NETWORK_KWARGS, 1, folder / name, meta)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["models"][MODEL_NAME] = {
        "file": name, "sha256": sha, "scale": 1, "network": NETWORK,
        "network_kwargs": dict(NETWORK_KWARGS), "kind": "through-plane", "ensemble": 1,
        "training": {"recipe": "tools/through_plane_pretrain.py", "steps": steps,
                     "batch_size": args.batch, "patch": args.patch, "lr": args.lr,
                     "schedule": "cosine", "seconds": round(seconds, 1), "torch_threads": 1,
                     "data": "IXI first 20 (3 orientations) + BrainWeb axial 36-75",
                     "slices": "ratio 1.5-6, thickness 0.6-1.2 x spacing, rect|gaussian"},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                             encoding="utf-8")
    print(f"exported {folder / name} ({sha[:12]}), {steps} steps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
