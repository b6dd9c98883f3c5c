"""Figures of docs/acquisition.md: real scans upscaled x2 at their native resolution.

A scan that is already at the resolution its matrix allows has no blur to undo: a model that
sharpens blindly draws halos and amplifies noise there. For ``chris_t1`` (0.88 mm), ``mr-gd``
(~1 mm, skull-stripped) and a BraTS FLAIR (1 mm, z-scored), the central axial slice is
upscaled x2 by bicubic, by the paper-degradation model ``dnsp-edsr-ap-x2`` and by the default
model; the figure shows a zoomed crop of each, and the script prints the acquisition the
default assumed and the consistency of each output with the input.

Run: ``python tools/native_figures.py --out docs/figures`` (needs ../shared/data).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dnsp.data.io import load_volume
from dnsp.data.orientation import axial_axes
from dnsp.infer.assess import assess_upscale
from dnsp.infer.upscale import upscale_volume
from dnsp.methods import build_method
from dnsp.paths import shared_data_root

SCANS = {"chris_t1": "chris/chris_t1.nii.gz", "mr-gd": "mr-gd/MR_Gd.nii.gz",
         "BraTS FLAIR": "brats2013/pat0001/Flair.nii.gz"}
METHODS = {"bicubic": "bicubic", "paper model (ap-x2)": "dnsp-edsr-ap-x2", "default": None}


def _slab(path: Path, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` central axial slices of the volume (voxel order kept) and the affine."""
    vol = load_volume(path)
    sl = axial_axes(vol.affine)[2]
    mid = vol.data.shape[sl] // 2
    index = [slice(None)] * 3
    index[sl] = slice(mid - n // 2, mid - n // 2 + n)
    aff = vol.affine.copy()
    aff[:3, 3] += aff[:3, sl] * (mid - n // 2)
    return np.ascontiguousarray(vol.data[tuple(index)], dtype=np.float32), aff


def main() -> None:
    """Upscale, print the assessment, draw one PNG per scan."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/figures"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    root = shared_data_root()
    for scan, rel in SCANS.items():
        data, aff = _slab(root / rel)
        sl = axial_axes(aff)[2]
        outs = {}
        for label, spec in METHODS.items():
            method = build_method(spec, 2, threads=1)
            hr, hr_aff = upscale_volume(data, aff, method, 2)
            lo = float(data.min())  # as dnsp upscale: estimated on (x - min) / p99.9
            factor = max(float(np.percentile(data - lo, 99.9)), 1e-6)
            rep = assess_upscale(Path(scan), data - lo, aff, hr - lo, hr_aff, 2, factor)
            print(f"{scan:12s} {label:20s} ({method.name}): {rep.line()}")
            outs[label] = np.take(hr, hr.shape[sl] // 2, axis=sl)
        inp = np.take(data, data.shape[sl] // 2, axis=sl)
        h, w = inp.shape
        crop = (slice(h // 2 - h // 6, h // 2 + h // 6), slice(w // 2 - w // 6, w // 2 + w // 6))
        crop2 = tuple(slice(2 * c.start, 2 * c.stop) for c in crop)
        lo, hi = np.percentile(inp, [0.5, 99.5])
        fig, axes = plt.subplots(1, 1 + len(outs), figsize=(3.2 * (1 + len(outs)), 3.4))
        axes[0].imshow(np.rot90(inp[crop]), cmap="gray", vmin=lo, vmax=hi,
                       interpolation="nearest")
        axes[0].set_title(f"{scan}: input (nearest)", fontsize=9)
        for ax, (label, img) in zip(axes[1:], outs.items(), strict=True):
            ax.imshow(np.rot90(img[crop2]), cmap="gray", vmin=lo, vmax=hi,
                      interpolation="nearest")
            ax.set_title(f"x2 {label}", fontsize=9)
        for ax in axes:
            ax.axis("off")
        fig.tight_layout()
        name = args.out / f"native_{scan.replace(' ', '_').lower()}.png"
        fig.savefig(name, dpi=80)
        plt.close(fig)
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
