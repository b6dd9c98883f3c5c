"""docs/figures/native_flat_gate_zoom.png: the flat gate on native scans x2 (issue 28).

For chris_PD and BraTS FLAIRs pat0001, pat0003 and pat0004, the central slice of the
acquisition plane is upscaled x2 by cubic spline interpolation and by the default (``dnsp
upscale`` with ``--acquisition auto``: noise gate 2, range floor) without the flat gate, with
one pass of it, and as shipped (:data:`dnsp.ops.band_gate.DEFAULT_FLAT_GATE`; these scans are
read as a smooth band limit, so with :data:`~dnsp.ops.band_gate.SMOOTH_READ_PASSES` passes);
the figure shows the same zoomed crop of each, on the window of cubic's 1st-99.5th
percentiles.

Run: ``python tools/flat_gate_figure.py --out docs/figures/native_flat_gate_zoom.png`` (needs
../shared/data).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dnsp.data.io import load_volume
from dnsp.data.orientation import to_plane_stack
from dnsp.data.slicing import central_slices
from dnsp.infer.volume import intensity_map, plane_estimate, resolve_plane
from dnsp.methods import build_method
from dnsp.ops.band_gate import DEFAULT_FLAT_GATE, DEFAULT_GATE
from dnsp.paths import shared_data_root

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from native_texture import cubic_spline_upscale

#: (title, path under ../shared/data, crop rows, crop columns) on the output grid
CASES = (
    ("chris_PD (held out)", "chris/chris_PD.nii.gz", (200, 330), (150, 280)),
    ("BraTS FLAIR pat0001", "brats2013/pat0001/Flair.nii.gz", (150, 280), (250, 380)),
    ("BraTS FLAIR pat0003 (held out)", "brats2013/pat0003/Flair.nii.gz", (150, 280), (150, 280)),
    ("BraTS FLAIR pat0004 (held out)", "brats2013/pat0004/Flair.nii.gz", (140, 270), (230, 360)),
)


def main() -> None:
    """Upscale, draw, save."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/figures/native_flat_gate_zoom.png"))
    args = ap.parse_args()
    kw = {"threads": 2, "gate": DEFAULT_GATE, "keep_range": True}
    without = build_method(None, 2, flat=0.0, **kw)
    gated = build_method(None, 2, flat=DEFAULT_FLAT_GATE, **kw)
    fig, ax = plt.subplots(len(CASES), 4, figsize=(16, 4 * len(CASES)), squeeze=False)
    for row, (title, rel, rows, cols) in enumerate(CASES):
        vol = load_volume(shared_data_root() / rel)
        data = np.asarray(vol.data, np.float32)
        choice = resolve_plane(vol.affine, "auto")
        stack = to_plane_stack(data, choice.axes)
        offset, factor = intensity_map(data)
        norm = ((stack - offset) / factor).astype(np.float32)
        lr = np.ascontiguousarray(norm[central_slices(norm, 1)])
        estimate = plane_estimate(data, choice, (offset, factor), 2)
        served = gated.for_volume(estimate=estimate)
        one = copy.copy(served)
        one.flat_passes = 1
        images = [("cubic spline", cubic_spline_upscale(lr, 2)),
                  ("default, no flat gate",
                   without.for_volume(estimate=estimate).upscale_stack(lr, 2)),
                  ("flat gate, one pass", one.upscale_stack(lr, 2)),
                  (f"default ({served.gates})", served.upscale_stack(lr, 2))]
        crop = (slice(*rows), slice(*cols))
        lo, hi = np.percentile(images[0][1][0][crop], [1, 99.5])
        for c, (name, im) in enumerate(images):
            ax[row, c].imshow(im[0][crop], cmap="gray", vmin=lo, vmax=hi,
                              interpolation="nearest")
            ax[row, c].set_title(f"{title}:\n{name}", fontsize=9)
            ax[row, c].axis("off")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
