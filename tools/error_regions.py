"""Share and PSNR of the squared error by region: background, outline band, interior.

Usage: ``python tools/error_regions.py SCALE TEST_SET [MODEL_OR_CHECKPOINT]``. The foreground
is HR > 2 % of its maximum, opened twice and hole-filled per slice; the band is 3 pixels
either side of its outline. Needs ``../shared/data``; one thread.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy import ndimage

from dnsp.evaluate.measure import load_test_set
from dnsp.methods import get_method
from dnsp.methods.network import NetworkMethod
from dnsp.methods.pretrained import load_model


def regions(hr: np.ndarray, width: int = 3) -> dict[str, np.ndarray]:
    """Boolean masks ``background``, ``band`` and ``interior`` of an ``(N, H, W)`` stack."""
    fg = hr > 0.02 * hr.max()
    mask = np.stack([ndimage.binary_fill_holes(ndimage.binary_opening(f, iterations=2))
                     for f in fg])
    band = np.stack([ndimage.binary_dilation(m, iterations=width)
                     & ~ndimage.binary_erosion(m, iterations=width) for m in mask])
    return {"background": ~mask & ~band, "band": band, "interior": mask & ~band}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scale", type=int)
    parser.add_argument("test_set")
    parser.add_argument("model", nargs="?", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    hr, lr, _ = load_test_set(args.test_set, args.scale)
    net, _ = load_model(args.model or f"dnsp-edsr-ap-x{args.scale}")
    outputs = {"bicubic": get_method("bicubic").upscale_stack(lr, args.scale),
               "network": NetworkMethod(net, args.scale).upscale_stack(lr, args.scale)}
    masks = regions(hr)
    for name, out in outputs.items():
        se = (np.clip(out[:, :hr.shape[1], :hr.shape[2]], 0, 1) - hr) ** 2
        parts = [f"{r}: {100 * se[m].sum() / se.sum():.1f} % of the error, "
                 f"PSNR {-10 * np.log10(se[m].mean()):.2f} dB" for r, m in masks.items()]
        print(f"{name}: PSNR {-10 * np.log10(se.mean()):.2f} dB; " + "; ".join(parts))


if __name__ == "__main__":
    main()
