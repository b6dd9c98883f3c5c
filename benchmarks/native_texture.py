"""Invented texture and range undershoot when upscaling real native scans x2 in-plane (issue 28).

Real scans at their own resolution (no ground truth) from ``../shared/data``: chris_t1,
MR_Gd, the DICOM PD FSE series (in-plane), a BraTS FLAIR and one IXI test subject. Each is
upscaled the way ``dnsp upscale`` does it (library API: the acquisition plane of
:func:`dnsp.infer.volume.resolve_plane`, the intensity map of
:func:`dnsp.infer.volume.intensity_map`, :meth:`for_volume` decided on the volume's
estimation sample, :meth:`upscale_stack` on ``--slices`` central slices) by:

* ``cubic spline``: centre-aligned cubic B-spline interpolation (SciPy ``map_coordinates``,
  order 3, mirror borders) on the SPEC section 4 grid;
* ``bicubic``: ``dnsp upscale --method bicubic`` (Keys, a = -0.5);
* ``zero-fill``: ``dnsp upscale --method zerofill`` (sinc interpolation);
* ``default``: ``dnsp upscale`` without ``--model`` (``dnsp-edsr-mix-x2``);
* ``paper``: ``--model dnsp-edsr-ap-x2``.

Reported per scan and method: the invented-texture score of :func:`dnsp.metrics.invented_texture`
(RMS of the out-of-band residual over flat bright tissue / the input's fine-scale fluctuation),
its ratio to cubic spline's (also over the dominant flat tissue,
``flat_tissue_mask(tissue="dominant")``: the brightest tissue of a FLAIR is a lesion), and the
output's minimum against the input's minimum over the
same slices (input units), as a markdown table.

Run: ``OMP_NUM_THREADS=1 python benchmarks/native_texture.py --slices 6 \
--out runs/native_texture.json`` (``--set held-out``: further native scans, kept apart from
the tuning: chris_PD, BraTS patients 2-4, IXI test subjects 21-23).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from dnsp.acquisition import get_acquisition
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_plane_stack
from dnsp.data.slicing import central_slices
from dnsp.infer.volume import intensity_map, plane_estimate, resolve_plane
from dnsp.methods import build_method, has_capability
from dnsp.methods.base import SRMethod
from dnsp.metrics import fine_texture, flat_tissue_mask, invented_texture
from dnsp.ops.band_gate import DEFAULT_FLAT_GATE, DEFAULT_GATE, shipped_gates
from dnsp.paths import shared_data_root

SCALE = 2
#: Column order of the table; ``cubic spline`` is the reference of the ratios.
METHODS = ("zero-fill", "cubic spline", "bicubic", "default", "paper")


def held_out_scans(root: Path) -> dict[str, Path]:
    """Native scans kept apart from the tuning of the default's routing (``--set held-out``;
    docs/acquisition.md says when they were looked at): the other contrast of chris, further
    BraTS patients and IXI test subjects."""
    ixi = sorted((root / "ixi-t1-2mm").glob("IXI*"))
    brats = root / "brats2013"
    return {
        "chris_PD": root / "chris" / "chris_PD.nii.gz",
        **{f"BraTS FLAIR ({p})": brats / p / "Flair.nii.gz"
           for p in ("pat0002", "pat0003", "pat0004")},
        "BraTS T1c (pat0002)": brats / "pat0002" / "T1c.nii.gz",
        **{f"IXI {q.name.split('-')[0]} (test split)": q for q in ixi[21:24]},
    }


def scans(root: Path) -> dict[str, Path]:
    """The native scans of the issue, by display name."""
    ixi = sorted((root / "ixi-t1-2mm").glob("IXI*"))
    return {
        "chris_t1": root / "chris" / "chris_t1.nii.gz",
        "MR_Gd": root / "mr-gd" / "MR_Gd.nii.gz",
        "DICOM PD FSE (in-plane)": root / "dicom" / "pd-fse-5mm",
        "BraTS FLAIR (pat0001)": root / "brats2013" / "pat0001" / "Flair.nii.gz",
        f"IXI {ixi[20].name.split('-')[0]} (test split)": ixi[20],
    }


def cubic_spline_upscale(lr: np.ndarray, scale: int) -> np.ndarray:
    """Centre-aligned cubic B-spline interpolation of ``(N, h, w)`` by ``scale`` in-plane."""
    n, h, w = lr.shape
    ys = (np.arange(h * scale) - (scale - 1) / 2) / scale
    xs = (np.arange(w * scale) - (scale - 1) / 2) / scale
    grid = np.meshgrid(ys, xs, indexing="ij")
    out = np.empty((n, h * scale, w * scale), np.float32)
    for k in range(n):
        out[k] = ndimage.map_coordinates(lr[k].astype(np.float64), grid, order=3,
                                         mode="mirror")
    return out


def build_methods(threads: int, gate: float = DEFAULT_GATE, model: str | None = None,
                  acquisition: str | None = None, flat: float = DEFAULT_FLAT_GATE
                  ) -> dict[str, SRMethod]:
    """The SR methods of :data:`METHODS` but cubic spline, as ``dnsp upscale`` builds them
    (the networks with the noise gate ``gate``, the flat gate ``flat`` and the range floor);
    with ``acquisition``, the ``default`` column is ``dnsp upscale --acquisition NAME`` (its
    model, its projection)."""
    given = None if acquisition is None else get_acquisition(acquisition, scale=SCALE)
    return {
        "zero-fill": build_method("zerofill", SCALE, threads=threads),
        "bicubic": build_method("bicubic", SCALE, threads=threads),
        "default": build_method(model, SCALE, threads=threads, gate=gate, flat=flat,
                                keep_range=True, acquisition=given, given=given is not None),
        "paper": build_method("dnsp-edsr-ap-x2", SCALE, threads=threads, gate=gate, flat=flat,
                              keep_range=True),
    }


def measure_scan(name: str, path: Path, methods: dict[str, SRMethod], n_slices: int
                 ) -> dict[str, Any]:
    """Texture score and minimum of every method on ``n_slices`` central slices of a scan."""
    vol = load_volume(path)
    data = np.asarray(vol.data, dtype=np.float32)
    choice = resolve_plane(vol.affine, "auto")
    stack = to_plane_stack(data, choice.axes)
    offset, factor = intensity_map(data)
    norm = ((stack.astype(np.float64) - offset) / factor).astype(np.float32)
    idx = central_slices(norm, n_slices)
    lr = np.ascontiguousarray(norm[idx])
    estimate = plane_estimate(data, choice, (offset, factor), SCALE)  # as dnsp upscale does
    dominant = flat_tissue_mask(lr, tissue="dominant")
    row: dict[str, Any] = {"scan": name, "plane": choice.plane, "lr_shape": list(lr.shape),
                           "slices": idx.tolist(), "input_min": float(stack[idx].min()),
                           "methods": {}}
    for key in METHODS:
        t0 = time.perf_counter()
        if key == "cubic spline":
            sr = cubic_spline_upscale(lr, SCALE)
            label = "cubic spline"
        else:
            method = methods[key]
            if has_capability(method, "per_volume"):
                method = method.for_volume(estimate=estimate)
            sr = method.upscale_stack(lr, SCALE)
            label = method.name + (f" (projection {method.consistency}, damping "
                                   f"{method.damping:.2f})" if hasattr(method, "consistency")
                                   else "")
        seconds = time.perf_counter() - t0
        tex = invented_texture(lr, sr, SCALE)
        row["methods"][key] = {"label": label, "score": tex.score,
                               "score_dominant": (invented_texture(lr, sr, SCALE, dominant).score
                                                  if dominant.any() else float("nan")),
                               "fine": fine_texture(lr, sr, SCALE),
                               "residual_rms": tex.residual_rms, "input_rms": tex.input_rms,
                               "mask_voxels": tex.voxels,
                               "output_min": float(sr.min()) * factor + offset,
                               "seconds": seconds}
        print(f"{name:28s} {key:13s} texture {tex.score:6.3f}  min "
              f"{row['methods'][key]['output_min']:9.2f} (input {row['input_min']:.2f})  "
              f"{seconds:5.1f} s  [{label}]", flush=True)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: out-of-band score (ratio to cubic spline) per method, the all-band fine
    texture of the default and the paper model against cubic's, then minima."""
    head = ("| scan | " + " | ".join(f"{m}" for m in METHODS)
            + " | default / bicubic | dominant tissue: default / paper (x cubic)"
            " | all-band: default / paper (x cubic) | input min"
            " | min zero-fill / cubic spline / default / paper |")
    lines = [head, "|---|" + "---:|" * (len(METHODS) + 5)]
    for r in rows:
        ref = r["methods"]["cubic spline"]["score"]
        cells = []
        for m in METHODS:
            sc = r["methods"][m]["score"]
            cells.append(f"{sc:.2f}" if m == "cubic spline" else f"{sc:.2f} ({sc / ref:.1f}x)")
        mins = " / ".join(f"{r['methods'][m]['output_min']:.1f}"
                          for m in ("zero-fill", "cubic spline", "default", "paper"))
        rel = r["methods"]["default"]["score"] / r["methods"]["bicubic"]["score"]
        fine_ref = r["methods"]["cubic spline"]["fine"]
        fine = " / ".join(f"{r['methods'][m]['fine'] / fine_ref:.2f}x"
                          for m in ("default", "paper"))
        dom_ref = r["methods"]["cubic spline"]["score_dominant"]
        dom = " / ".join(f"{r['methods'][m]['score_dominant'] / dom_ref:.1f}x"
                         for m in ("default", "paper"))
        lines.append(f"| {r['scan']} | " + " | ".join(cells)
                     + f" | {rel:.1f}x | {dom} | {fine} | {r['input_min']:.1f} | {mins} |")
    return "\n".join(lines)


def main() -> None:
    """Measure, print the markdown table; write JSON with ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slices", type=int, default=6, help="central slices per scan")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None,
                    help="the model of the 'default' column (default: the shipped default)")
    ap.add_argument("--gate", type=float, default=None,
                    help="the networks' noise gate (dnsp upscale --gate; 0: off; default: "
                    "as dnsp upscale, 2 with auto and 0 with --acquisition)")
    ap.add_argument("--flat-gate", type=float, default=None,
                    help="the networks' flat gate (dnsp upscale --flat-gate; 0: off; default: "
                    "as dnsp upscale, 0.04 with auto and 0 with --acquisition)")
    ap.add_argument("--acquisition", default=None, choices=("gaussian", "kspace"),
                    help="the 'default' column as dnsp upscale --acquisition NAME")
    ap.add_argument("--only", nargs="*", default=None, help="scan names to keep (prefixes)")
    ap.add_argument("--set", choices=("issue", "held-out"), default="issue",
                    help="the issue's five scans (used to tune), or scans kept apart")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gates = shipped_gates(named=args.acquisition is not None)  # as dnsp upscale
    gate = args.gate if args.gate is not None else gates["gate"]
    flat = args.flat_gate if args.flat_gate is not None else gates["flat"]
    methods = build_methods(args.threads, gate, args.model, args.acquisition, flat)
    rows = []
    chosen = scans if args.set == "issue" else held_out_scans
    for name, path in chosen(shared_data_root()).items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        rows.append(measure_scan(name, path, methods, args.slices))
    print()
    print(table(rows))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
