"""Through-plane SR of simulated thick-slice scans (issue 16; docs/through_plane.md).

Heads never used in training (``chris_t1``, 0.88 mm; ``mr-gd``, ~1 mm) are scaled by their
99.9th percentile, cropped along the axial axis to ``ceil(m * ratio)`` voxels (so that the
restored grid is the original one) and acquired as thick axial slices of 3, 4 and 5 mm
(thickness = spacing, ``rect`` and ``gaussian`` profiles, centre-aligned:
:class:`dnsp.acquisition.slices.SliceAcquisition`). Each thick scan is restored to the
original axial spacing by cubic B-spline (SciPy's interpolating spline along the slice axis,
:func:`dnsp.infer.through_plane.bspline_through_plane`) and by
:func:`dnsp.infer.through_plane.through_plane_volume` (shipped model + adaptation). Reported:
PSNR over the head box (bounding box of HR > 0.05; peak 1; outputs clipped to [0, 1]), the
gain over B-spline, the data-consistency PSNR and the seconds per volume.

Targets: mean gain >= +3.0 dB, no case below +1.5 dB.

Run: ``python benchmarks/through_plane.py --out runs/through_plane_bench.json``
(``--net FILE`` measures a model file or training checkpoint instead of the shipped model).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnsp.acquisition.slices import SliceAcquisition
from dnsp.checkpoint_io import read_torch_file
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume
from dnsp.data.orientation import axial_axes
from dnsp.infer.through_plane import (
    DEFAULT_TIME_BUDGET,
    bspline_through_plane,
    through_plane_volume,
)
from dnsp.methods.pretrained import load_model
from dnsp.methods.through_plane import ThroughPlaneSR
from dnsp.ops.slice_profile import fine_count, thick_affine, thick_count
from dnsp.paths import shared_data_root

HEADS = {"chris_t1": "chris/chris_t1.nii.gz", "mr-gd": "mr-gd/MR_Gd.nii.gz",
         "brats_flair": "brats2013/pat0001/Flair.nii.gz"}


def head_box_psnr(out: np.ndarray, hr: np.ndarray) -> float:
    """PSNR (peak 1) over the bounding box of ``hr > 0.05``, ``out`` clipped to [0, 1]."""
    idx = np.nonzero(hr > 0.05)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
    mse = float(np.mean((np.clip(out[box], 0, 1) - hr[box]) ** 2))
    return 10 * np.log10(1.0 / mse)


def simulate(hr: np.ndarray, affine: np.ndarray, axis: int, mm: float, profile: str
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, SliceAcquisition]:
    """``(cropped hr, thick, thick affine, model)`` for slices of ``mm`` along ``axis``."""
    d = float(np.linalg.norm(affine[:3, axis]))
    acq = SliceAcquisition(mm, mm, profile, fine_spacing=d, axis=axis)
    n = fine_count(thick_count(hr.shape[axis], acq.ratio), acq.ratio)
    hr = np.take(hr, np.arange(n), axis=axis)
    thick = acq.simulate(torch.from_numpy(np.ascontiguousarray(hr))).numpy()
    return hr, thick, thick_affine(affine, axis, n, acq.ratio), acq


def _network(path: str | None) -> torch.nn.Module | None:
    if path is None:
        return None
    state = read_torch_file(path)
    if "net" in state:  # a checkpoint of tools/through_plane_pretrain.py
        net = ThroughPlaneSR.fresh_network()
        net.load_state_dict(state["net"])
        return net.eval()
    return load_model(path)[0]


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print/write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", nargs="+", default=["chris_t1", "mr-gd"],
                        choices=list(HEADS))
    parser.add_argument("--mm", nargs="+", type=float, default=[3.0, 4.0, 5.0])
    parser.add_argument("--profiles", nargs="+", default=["rect", "gaussian"])
    parser.add_argument("--time-budget", type=float, default=None,
                        help="adaptation seconds (default: the pipeline's default)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--net", default=None, help="model file or pretraining checkpoint")
    parser.add_argument("--assume", default=None, choices=["rect", "gaussian"],
                        help="restore assuming this profile whatever the simulated one "
                             "(the cost of a wrong guess)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows: list[dict[str, Any]] = []
    for head in args.heads:
        vol = load_volume(shared_data_root() / HEADS[head])
        hr_all = percentile_scale(vol.data)[0]
        axis = axial_axes(vol.affine)[2]
        for mm in args.mm:
            for profile in args.profiles:
                hr, thick, aff, acq = simulate(hr_all, vol.affine, axis, mm, profile)
                d = acq.fine_spacing
                spline, _ = bspline_through_plane(thick, aff, target=d)
                kw: dict[str, Any] = {"threads": args.threads}
                if args.time_budget is not None:
                    kw["time_budget"] = args.time_budget
                net = _network(args.net)
                if net is not None:
                    budget = kw.get("time_budget", DEFAULT_TIME_BUDGET)
                    kw = {"method": ThroughPlaneSR(net, time_budget=budget,
                                                   threads=args.threads)}
                t0 = time.perf_counter()
                res = through_plane_volume(thick, aff, target_spacing=d, thickness=mm,
                                           profile=args.assume or profile, **kw)
                sec = time.perf_counter() - t0
                assert res.data.shape == hr.shape, (res.data.shape, hr.shape)
                np.testing.assert_allclose(res.affine, vol.affine, atol=1e-6)
                row = {"head": head, "mm": mm, "profile": profile, "assumed": res.profile,
                       "ratio": acq.ratio,
                       "bspline": head_box_psnr(spline, hr),
                       "network": head_box_psnr(res.data, hr),
                       "consistency": res.consistency, "steps": res.adapt.steps,
                       "seconds": sec}
                row["gain"] = row["network"] - row["bspline"]
                rows.append(row)
                print(f"{head:9s} {mm:g} mm {profile:8s} ratio {acq.ratio:.2f}: B-spline "
                      f"{row['bspline']:.2f}  network {row['network']:.2f}  gain "
                      f"{row['gain']:+.2f} dB  consistency {res.consistency:.1f} dB  "
                      f"{res.adapt.steps} steps  {sec:.0f} s", flush=True)
    gains = [r["gain"] for r in rows]
    print(f"mean gain {np.mean(gains):+.2f} dB, worst {min(gains):+.2f} dB over {len(rows)}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "mean_gain": float(np.mean(gains)),
                                        "worst_gain": float(min(gains))}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
