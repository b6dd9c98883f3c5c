"""Figure of docs/upscale.md: BraTS FLAIR (z-scored) upscaled before and after issue 18.

"Before" reproduces the earlier intensity handling (the volume divided by its 99.9th
percentile; the network sees only the part in [0, 1], the rest is interpolated and added
back), "after" is :func:`dnsp.infer.upscale.upscale_volume` ((x - min) / p99.9(x - min)).

    python tools/upscale_intensity_figure.py /path/to/brats2013/pat0001/Flair.nii.gz
"""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from dnsp.data.orientation import to_axial_stack
from dnsp.evaluate.figures._common import new_figure, save_png, show_image
from dnsp.infer.upscale import upscale_volume
from dnsp.methods import build_method

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "upscale_brats_flair_intensity.png"


def main(path: str) -> None:
    img = nib.load(path)
    x = np.asarray(img.dataobj, np.float32)[40:200, 30:210, 76:77]  # one axial slice
    aff = np.asarray(img.affine, float)
    method = build_method(None, 2, threads=1)
    after, _ = upscale_volume(x, aff, method, 2)
    factor = np.float32(np.percentile(x, 99.9))
    before = method.upscale_stack(to_axial_stack(x, aff) / factor, 2) * factor
    lr = to_axial_stack(x, aff)[0]
    a, b = to_axial_stack(after, aff)[0], before[0]
    lo, hi = float(x.min()), float(np.percentile(x, 99.9))
    panels = [("input (nearest)", np.repeat(np.repeat(lr, 2, 0), 2, 1), lo, hi),
              ("before: p99.9 split at 0", b, lo, hi),
              ("after: (x - min) / p99.9", a, lo, hi),
              ("before - after (z units)", b - a, -2.0, 2.0)]
    fig = new_figure(10.0, 3.2)
    axes = fig.subplots(1, 4)
    for ax, (name, im, vmin, vmax) in zip(axes, panels, strict=True):
        show_image(ax, np.flipud(im), vmin, vmax)  # rows run posterior -> anterior
        ax.set_title(name, fontsize=10)
    rms = float(np.sqrt(np.mean((b - a) ** 2)))
    fig.suptitle(f"BraTS 2013 pat0001 FLAIR (z-scored), x2 default model; RMS before - after "
                 f"{rms:.2f} z, max {float(np.abs(b - a).max()):.2f} z", fontsize=10)
    print(save_png(fig, OUT, dpi=90), f"rms {rms:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
