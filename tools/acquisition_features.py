"""The acquisition-feature table of docs/acquisition.md.

For each head and acquisition model: the median over 10 central axial slices of
:func:`dnsp.acquisition.acquisition_features` of the simulated LR slices, and what
:func:`dnsp.acquisition.estimate_acquisition` reports.

Run: ``python tools/acquisition_features.py [--scale 2]`` (needs ../shared/data).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dnsp.acquisition import acquisition_features, estimate_acquisition, get_acquisition
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_axial_stack
from dnsp.data.slicing import central_slices
from dnsp.paths import shared_data_root

CASES = {
    "gaussian": {"name": "gaussian"},
    "kspace": {"name": "kspace"},
    "kspace + 2 %": {"name": "kspace", "noise": 0.02},
    "Hamming": {"name": "kspace", "window": "hamming"},
    "Hamming + 1 %": {"name": "kspace", "window": "hamming", "noise": 0.01},
}


def _heads() -> dict[str, str]:
    root = shared_data_root()
    ixi = sorted((root / "ixi-t1-2mm").glob("IXI*"))
    return {"IXI (train pool)": str(ixi[3]),
            "BrainWeb": str(root / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz"),
            "chris_t1": str(root / "chris" / "chris_t1.nii.gz"),
            "mr-gd": str(root / "mr-gd" / "MR_Gd.nii.gz")}


def main() -> None:
    """Print the table as Markdown."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=int, default=2)
    s = ap.parse_args().scale
    print(f"| head (x{s}) | " + " | ".join(CASES) + " |")
    print("|---|" + "---|" * len(CASES))
    for head, path in _heads().items():
        vol = load_volume(path)
        stack = to_axial_stack(percentile_scale(vol.data)[0], vol.affine)
        hr = torch.from_numpy(np.ascontiguousarray(stack[central_slices(stack, 10)],
                                                   dtype=np.float32))
        cells = []
        for cfg in CASES.values():
            lr = get_acquisition(scale=s, **cfg).simulate(hr, torch.Generator().manual_seed(0))
            f = np.median([acquisition_features(sl) for sl in lr.numpy()], axis=0)
            est = estimate_acquisition(lr.numpy(), s)
            cells.append(f"{f[0]:+.2f}/{f[1]:.2f}/{f[2]:.2f} ({est.acquisition.name}, "
                         f"{100 * est.noise:.1f} %)")
        print(f"| {head} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
