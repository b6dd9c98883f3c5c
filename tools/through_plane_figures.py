"""Before/after figures of docs/through_plane.md on the real thick-slice scans.

For ``chris/chris_PD`` (0.86 x 0.86 x 2.4 mm) and the DICOM series ``dicom/pd-fse-5mm``
(0.86 mm pixels, 5 mm slices every 7 mm; the thickness read from its header): coronal and
sagittal reformats through the volume centre, as acquired (nearest slice), cubic B-spline
along the slice axis, and the through-plane network (shipped model, default adaptation
budget). Writes ``docs/figures/through_plane_<name>.png`` and prints the per-file line of
``dnsp upscale``::

    python tools/through_plane_figures.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from dnsp.data.io import load_volume
from dnsp.data.orientation import axial_axes
from dnsp.infer.through_plane import (
    DEFAULT_TIME_BUDGET,
    bspline_through_plane,
    choose_thickness,
    describe,
    slice_geometry,
    through_plane_volume,
)
from dnsp.ops.slice_profile import fine_positions
from dnsp.paths import shared_data_root

SCANS = {"chris_pd": "chris/chris_PD.nii.gz", "dicom_5mm": "dicom/pd-fse-5mm"}


def _views(vol: np.ndarray, axis: int, superior_up: bool) -> list[np.ndarray]:
    """The two planes through the centre that contain ``axis``; slice axis vertical."""
    out = []
    for other in [a for a in range(3) if a != axis]:
        plane = np.take(vol, vol.shape[other] // 2, axis=other)
        keep = [a for a in range(3) if a != other]
        img = plane if keep.index(axis) == 0 else plane.T  # rows = slice axis
        out.append(img[::-1] if superior_up else img)
    return out


def main(argv: list[str] | None = None) -> int:
    """Make the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    parser.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rel in SCANS.items():
        vol = load_volume(shared_data_root() / rel)
        axis = slice_geometry(vol.affine, vol.data.shape)[0]
        thickness, how = choose_thickness(None, vol.meta, axis)  # as dnsp upscale
        res = through_plane_volume(vol.data, vol.affine, thickness=thickness,
                                   time_budget=args.time_budget, threads=args.threads)
        print(f"{rel}: " + describe(res, how, False), flush=True)
        spline, _ = bspline_through_plane(vol.data, vol.affine)
        m = vol.data.shape[res.axis]
        near = np.clip(np.round(fine_positions(m, res.ratio)), 0, m - 1).astype(int)
        nearest = np.take(vol.data, near, axis=res.axis)
        up = bool(vol.affine[2, res.axis] > 0)
        cols = {"as acquired (nearest)": nearest, "cubic B-spline": spline,
                "dnsp through-plane": res.data}
        hi = float(np.percentile(vol.data, 99.5))
        fig, axes = plt.subplots(2, 3, figsize=(9, 6.2))
        for c, (title, data) in enumerate(cols.items()):
            for r, img in enumerate(_views(data, res.axis, up)):
                ax = axes[r, c]
                ax.imshow(img, cmap="gray", vmin=0, vmax=hi, interpolation="nearest",
                          aspect=1.0)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(title, fontsize=10)
        ap, rl, _ = axial_axes(vol.affine)
        others = [a for a in range(3) if a != res.axis]
        for r, other in enumerate(others):
            axes[r, 0].set_ylabel({rl: "sagittal", ap: "coronal"}.get(other, "axial"))
        fig.suptitle(f"{rel}: {res.spacing:.2g} mm slices -> {res.target:.2g} mm "
                     f"({res.profile}, thickness {res.thickness:.2g} mm)", fontsize=10)
        fig.tight_layout()
        path = args.out / f"through_plane_{name}.png"
        fig.savefig(path, dpi=72)
        plt.close(fig)
        print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
