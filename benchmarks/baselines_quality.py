"""PSNR gains of the model-based baselines over bicubic, and their runtimes (docs/baselines.md).

Protocol (SPEC sections 2, 4, 6; /work/shared/data/README.md):

* IXI T1 2 mm: files sorted by name, first 20 = training pool, last 20 = test; from each the
  40 central axial slices with brain; each volume scaled by its 99.9th percentile to [0, 1].
* BrainWeb T1 1 mm phantom: the slabs of ``dnsp.data.embedded.PHANTOM_SLABS`` (original slice
  indices; train 36-75, test 96-135, 20 slices apart).
* LR = ``dnsp.ops.degrade`` (blur sigma = s/2, s x s block mean); PSNR data_range = 1 per
  whole slice (scikit-image), gain = method minus bicubic on the same slice.

Usage (the commands behind the numbers in docs/baselines.md)::

    DNSP_CACHE_DIR=/tmp/cache OMP_NUM_THREADS=1 nice -n 10 \
        python benchmarks/baselines_quality.py quality --scale 2 --out quality_x2.json
    nice -n 10 python benchmarks/baselines_quality.py tune-lrtv --n-subjects 3 \
        --lambda-rank 0 0.001 0.003 --lambda-tv 3e-5 1e-4 3e-4 --rho 0.05 --mu 0.05 --max-iter 60
    DNSP_CACHE_DIR=/tmp/cache nice -n 10 python benchmarks/baselines_quality.py tune-srsw \
        --patch 5 7 --k 8 16 --sparsity 0.01 0.1
    DNSP_CACHE_DIR=/tmp/cache OMP_NUM_THREADS=1 nice -n 10 \
        python benchmarks/baselines_quality.py --threads 1 runtime
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio

from dnsp.data.embedded import PHANTOM_SLABS
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_axial_stack
from dnsp.data.slicing import central_slices
from dnsp.methods import get_method
from dnsp.ops import crop_to_multiple, degrade
from dnsp.paths import shared_data_root

DATA = shared_data_root()


def ixi_files() -> list[Path]:
    """The 40 IXI files sorted by name."""
    return sorted((DATA / "ixi-t1-2mm").glob("*.nii.gz"))


def ixi_stack(path: Path, n_slices: int = 40) -> np.ndarray:
    """The 40 central axial brain slices of one IXI volume, scaled to [0, 1]."""
    vol = load_volume(path)
    scaled, _ = percentile_scale(vol.data)
    stack = np.ascontiguousarray(to_axial_stack(scaled, vol.affine))
    return stack[central_slices(stack, n_slices)]


def ixi_split(split: str) -> list[np.ndarray]:
    """IXI stacks of ``split`` in {"train", "test"}."""
    files = ixi_files()
    chosen = files[:20] if split == "train" else files[-20:]
    return [ixi_stack(f) for f in chosen]


def brainweb_slab(slab: str) -> np.ndarray:
    """The BrainWeb slab ``slab`` in {"train", "val", "test"} as an axial stack in [0, 1]."""
    vol = load_volume(DATA / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz")
    scaled, _ = percentile_scale(vol.data)
    stack = np.ascontiguousarray(to_axial_stack(scaled, vol.affine))
    return stack[list(PHANTOM_SLABS[slab])]


def make_lr(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(cropped HR, LR) float32 pair of SPEC section 4."""
    t = torch.from_numpy(np.ascontiguousarray(hr, dtype=np.float32)).to(torch.float64)
    hr_c = crop_to_multiple(t, scale)
    return hr_c.numpy().astype(np.float32), degrade(t, scale).numpy().astype(np.float32)


def psnr_slices(hr: np.ndarray, sr: np.ndarray) -> np.ndarray:
    """Per-slice PSNR with data_range 1 (SPEC section 6)."""
    return np.array([peak_signal_noise_ratio(h, np.clip(s, 0, 1), data_range=1.0)
                     for h, s in zip(hr, sr, strict=True)])


def evaluate(method: Any, stacks: list[np.ndarray], scale: int) -> dict[str, Any]:
    """Mean PSNR of ``method`` and of bicubic over all slices, the gain and the runtime."""
    bic = get_method("bicubic")
    p_m, p_b, secs = [], [], 0.0
    for hr in stacks:
        hr_c, lr = make_lr(hr, scale)
        t0 = time.perf_counter()
        sr = method.upscale_stack(lr, scale)
        secs += time.perf_counter() - t0
        p_m.append(psnr_slices(hr_c, sr))
        p_b.append(psnr_slices(hr_c, bic.upscale_stack(lr, scale)))
    pm, pb = np.concatenate(p_m), np.concatenate(p_b)
    gain = pm - pb
    return {
        "method": repr(method), "n_slices": int(pm.size), "psnr": float(pm.mean()),
        "psnr_bicubic": float(pb.mean()), "gain": float(gain.mean()),
        "gain_ci95": float(1.96 * gain.std(ddof=1) / np.sqrt(gain.size)) if gain.size > 1
        else 0.0, "frac_slices_improved": float((gain > 0).mean()), "seconds": secs,
    }


def _print(res: dict[str, Any]) -> None:
    print(json.dumps(res), flush=True)


def cmd_quality(args: argparse.Namespace) -> None:
    s = args.scale
    results: list[dict[str, Any]] = []
    ixi_train, ixi_test = ixi_split("train"), ixi_split("test")
    bw_train, bw_test = brainweb_slab("train"), brainweb_slab("test")
    for name in args.methods:
        if name == "srsw":
            m_ixi = get_method("srsw")
            m_ixi.fit(ixi_train, s)
            m_bw = get_method("srsw")
            m_bw.fit([bw_train], s)
        else:
            m_ixi = m_bw = get_method(name)
        for label, m, stacks in (("ixi_test", m_ixi, ixi_test),
                                 ("brainweb_test", m_bw, [bw_test])):
            res = {"dataset": label, "scale": s, "name": name, **evaluate(m, stacks, s)}
            _print(res)
            results.append(res)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


def cmd_tune_lrtv(args: argparse.Namespace) -> None:
    stacks = ixi_split("train")[: args.n_subjects]
    for lr_ in args.lambda_rank:
        for tv in args.lambda_tv:
            m = get_method("lrtv", lambda_rank=lr_, lambda_tv=tv, rho=args.rho, mu=args.mu,
                           max_iter=args.max_iter)
            _print({"lambda_rank": lr_, "lambda_tv": tv, **evaluate(m, stacks, args.scale)})


def cmd_tune_srsw(args: argparse.Namespace) -> None:
    pool = ixi_split("train")
    lib, val = pool[:15], pool[15:]
    for patch in args.patch:
        for k in args.k:
            for lam in args.sparsity:
                m = get_method("srsw", patch=patch, k=k, sparsity=lam)
                m.fit(lib, args.scale)
                _print({"patch": patch, "k": k, "sparsity": lam,
                        **evaluate(m, val, args.scale)})


def cmd_runtime(args: argparse.Namespace) -> None:
    s = args.scale
    vol = load_volume(DATA / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz")
    scaled, _ = percentile_scale(vol.data)
    head = np.ascontiguousarray(to_axial_stack(scaled, vol.affine))
    cases = {
        "ixi40": ("IXI test subject 1, 40 axial slices", lambda: ixi_split("test")[0]),
        "crop120": ("BrainWeb test slab, 40 slices cropped to 120x120",
                    lambda: head[list(PHANTOM_SLABS["test"]), 48:168, 30:150]),
        "head": ("BrainWeb whole 1 mm head", lambda: head),
    }
    bw_train = brainweb_slab("train")
    for name in args.methods:
        m = get_method(name)
        if name == "srsw":
            t0 = time.perf_counter()
            m.fit([bw_train], s)
            _print({"name": name, "what": "fit library (BrainWeb train slab, cache folder "
                    "$DNSP_CACHE_DIR)", "seconds": time.perf_counter() - t0})
        for case in args.cases:
            label, get = cases[case]
            hr = get()
            _, lr = make_lr(hr, s)
            t0 = time.perf_counter()
            m.upscale_stack(lr, s)
            _print({"name": name, "what": label, "hr_shape": list(hr.shape),
                    "threads": torch.get_num_threads(), "seconds": time.perf_counter() - t0})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--scale", type=int, default=2)
    q.add_argument("--methods", nargs="+", default=["lrtv", "srsw"])
    q.add_argument("--out", default="")
    t = sub.add_parser("tune-lrtv")
    t.add_argument("--scale", type=int, default=2)
    t.add_argument("--n-subjects", type=int, default=5)
    t.add_argument("--lambda-rank", type=float, nargs="+", default=[0.0, 1e-3, 3e-3])
    t.add_argument("--lambda-tv", type=float, nargs="+", default=[3e-5, 1e-4, 3e-4])
    t.add_argument("--rho", type=float, default=0.01)
    t.add_argument("--mu", type=float, default=0.01)
    t.add_argument("--max-iter", type=int, default=100)
    u = sub.add_parser("tune-srsw")
    u.add_argument("--scale", type=int, default=2)
    u.add_argument("--patch", type=int, nargs="+", default=[5, 7])
    u.add_argument("--k", type=int, nargs="+", default=[8, 16])
    u.add_argument("--sparsity", type=float, nargs="+", default=[0.0, 0.01])
    r = sub.add_parser("runtime")
    r.add_argument("--scale", type=int, default=2)
    r.add_argument("--methods", nargs="+", default=["bicubic", "lrtv", "srsw"])
    r.add_argument("--cases", nargs="+", default=["ixi40", "crop120", "head"],
                   choices=["ixi40", "crop120", "head"])
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    {"quality": cmd_quality, "tune-lrtv": cmd_tune_lrtv, "tune-srsw": cmd_tune_srsw,
     "runtime": cmd_runtime}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
