"""Calibration of the acquisition estimator: a confusion table on simulations and real scans.

Simulations: IXI heads (2 mm, ``../shared/data/ixi-t1-2mm``, files sorted by name), ``--slabs``
slabs of ``--slab-slices`` central axial slices each, reduced x``--scale`` in-plane by every
acquisition family (``gaussian``: the paper's blur; ``kspace``: truncation; ``kspace+hamming``:
truncation with a Hamming window) at Rician noise 0, 1 % and 3 %, each with the head's own
background and with the background masked to exactly zero before the reduction (as masked,
averaged or denoised images have: then the LR background holds only ringing or blur).
Every LR slab goes through the intensity map of ``dnsp upscale``
(:func:`dnsp.infer.volume.intensity_map`: minus the minimum, over the 99.9th percentile)
before :func:`dnsp.acquisition.estimate_acquisition`.

Heads: ``--tune`` subjects (indices into the sorted list; default the first four of the
training pool, 0-3) are the ones the thresholds of :mod:`dnsp.acquisition.estimate` were
chosen on; ``--report`` subjects (default the first four of the test split, 20-23) are
reported separately. Real scans at native resolution (chris_t1, MR_Gd, the DICOM PD series,
BraTS FLAIR pat0001, the BrainWeb phantom, one IXI test head): k-space acquisitions at their
own resolution, so ``kspace`` or ``unknown`` is right and ``gaussian`` is wrong.

Run: ``OMP_NUM_THREADS=1 python benchmarks/estimator_calibration.py --out runs/estimator.json``
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnsp.acquisition import estimate_acquisition, estimation_sample, get_acquisition
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_axial_stack, to_plane_stack
from dnsp.data.slicing import central_slices
from dnsp.infer.volume import intensity_map, resolve_plane
from dnsp.metrics import brain_mask
from dnsp.paths import shared_data_root

FAMILIES: dict[str, dict[str, Any]] = {
    "gaussian": {"name": "gaussian"},
    "kspace": {"name": "kspace"},
    "kspace+hamming": {"name": "kspace", "window": "hamming"},
}
NOISES = (0.0, 0.01, 0.03)
LABELS = ("kspace", "gaussian", "unknown")


def _normalised(stack: np.ndarray) -> np.ndarray:
    offset, factor = intensity_map(stack)
    return ((stack.astype(np.float64) - offset) / factor).astype(np.float32)


def ixi_slabs(path: Path, n_slabs: int, per_slab: int, scale: int) -> list[np.ndarray]:
    """``n_slabs`` consecutive slabs of central axial slices in [0, 1], sides cropped to s."""
    vol = load_volume(path)
    stack = to_axial_stack(np.asarray(vol.data, np.float32), vol.affine)
    stack = _normalised(stack)
    idx = central_slices(stack, n_slabs * per_slab)
    h, w = stack.shape[1] // scale * scale, stack.shape[2] // scale * scale
    return [np.ascontiguousarray(stack[idx[k * per_slab:(k + 1) * per_slab], :h, :w])
            for k in range(n_slabs)]


def estimate_row(lr: np.ndarray, scale: int) -> dict[str, Any]:
    """The estimate of an LR slab after the intensity map, as a JSON-able dict."""
    est = estimate_acquisition(estimation_sample(_normalised(lr)), scale)
    return {"label": est.label, "confidence": est.confidence, "noise": est.noise,
            "noise_source": est.noise_source, "spectral": est.features[0],
            "background": est.features[2], "describe": est.describe()}


def simulate(subjects: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Rows for every head, slab, family, noise level and background variant."""
    files = sorted((shared_data_root() / "ixi-t1-2mm").glob("IXI*"))
    rows = []
    for sub in subjects:
        for k, hr in enumerate(ixi_slabs(files[sub], args.slabs, args.slab_slices, args.scale)):
            for masked in (False, True):
                src = hr * brain_mask(hr) if masked else hr
                for fam, cfg in FAMILIES.items():
                    for noise in NOISES:
                        acq = get_acquisition(scale=args.scale, noise=noise, **cfg)
                        gen = torch.Generator().manual_seed(1000 * sub + 10 * k + int(masked))
                        lr = acq.simulate(torch.from_numpy(src), gen).numpy()
                        row = {"subject": files[sub].name.split("-")[0], "slab": k,
                               "masked": masked, "family": fam, "noise_true": noise,
                               **estimate_row(lr, args.scale)}
                        rows.append(row)
        print(f"subject {sub} done", flush=True)
    return rows


def natives(scale: int) -> list[dict[str, Any]]:
    """Rows for the real scans at native resolution."""
    root = shared_data_root()
    ixi = sorted((root / "ixi-t1-2mm").glob("IXI*"))
    scans = {"chris_t1": root / "chris" / "chris_t1.nii.gz",
             "MR_Gd": root / "mr-gd" / "MR_Gd.nii.gz",
             "DICOM PD FSE": root / "dicom" / "pd-fse-5mm",
             "BraTS FLAIR pat0001": root / "brats2013" / "pat0001" / "Flair.nii.gz",
             "BrainWeb (3 % noise)": root / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz",
             f"IXI {ixi[20].name.split('-')[0]}": ixi[20]}
    rows = []
    for name, path in scans.items():
        vol = load_volume(path)
        stack = to_plane_stack(np.asarray(vol.data, np.float32),
                               resolve_plane(vol.affine, "auto").axes)
        rows.append({"scan": name, **estimate_row(stack, scale)})
        print(f"{name:24s} {rows[-1]['describe']}  (spectral {rows[-1]['spectral']:.2f})",
              flush=True)
    return rows


def confusion(rows: list[dict[str, Any]], title: str) -> str:
    """Markdown confusion table: truth (family, noise) x estimated label; noise error."""
    lines = [f"| {title} | n | kspace | gaussian | unknown | median noise estimate "
             "(true) | noise source |", "|---|---:|---:|---:|---:|---|---|"]
    for fam in FAMILIES:
        for noise in NOISES:
            sel = [r for r in rows if r["family"] == fam and r["noise_true"] == noise]
            if not sel:
                continue
            count = Counter(r["label"] for r in sel)
            src = Counter(r["noise_source"] for r in sel)
            est = float(np.median([r["noise"] for r in sel]))
            lines.append(f"| {fam} + {100 * noise:.0f} % | {len(sel)} | "
                         + " | ".join(str(count.get(lab, 0)) for lab in LABELS)
                         + f" | {100 * est:.2f} % ({100 * noise:.0f} %) | "
                         + ", ".join(f"{k} {v}" for k, v in sorted(src.items())) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run the calibration; print the tables; write JSON with ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--tune", type=int, nargs="*", default=[0, 1, 2, 3])
    ap.add_argument("--report", type=int, nargs="*", default=[20, 21, 22, 23])
    ap.add_argument("--slabs", type=int, default=2)
    ap.add_argument("--slab-slices", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    tune = simulate(args.tune, args)
    report = simulate(args.report, args)
    real = natives(args.scale)
    print()
    for part, title in ((tune, "tuning heads"), (report, "reported heads")):
        for masked in (False, True):
            sel = [r for r in part if r["masked"] == masked]
            print(confusion(sel, f"{title}, {'masked' if masked else 'own'} background"))
            print()
    print("| real scan (native) | estimate | spectral |\n|---|---|---:|")
    for r in real:
        print(f"| {r['scan']} | {r['describe']} | {r['spectral']:.2f} |")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"tune": tune, "report": report, "real": real},
                                       indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
