"""Diagnostic ceiling: fine-tune a model on the *other* slices of one test head.

Usage: ``python tools/oracle_finetune.py TEST_SET STEPS [SCALE [MODEL_OR_CHECKPOINT]]``
(TEST_SET: ``chris_t1`` or ``mr-gd``). Training slices are the head's axial slices with
foreground, at least 10 slices away from its 40 test slices; 40 x 40 patches, stride 20,
Adam lr 2e-4, batch 16, the reconstruction term only. Prints the gain over bicubic on the
test slices four times during training. Not shippable (it trains on the test head's
scanner and contrast); it shows how far in-domain data could take a network of this size.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dnsp.data.degradation import bicubic_upscale_slices, degrade_slices
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import load_volume
from dnsp.data.orientation import to_axial_stack
from dnsp.data.patches import extract_patch_pairs
from dnsp.data.slicing import central_slices, foreground_fraction
from dnsp.evaluate.measure import evaluate_methods, load_test_set
from dnsp.methods import get_method
from dnsp.methods.network import NetworkMethod
from dnsp.methods.pretrained import load_model

FILES = {"mr-gd": "mr-gd/MR_Gd.nii.gz", "chris_t1": "chris/chris_t1.nii.gz"}
GAP = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test_set", choices=sorted(FILES))
    parser.add_argument("steps", type=int)
    parser.add_argument("scale", type=int, nargs="?", default=4)
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--data", default="../shared/data")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    s = args.scale
    vol = load_volume(f"{args.data}/{FILES[args.test_set]}")
    stack = to_axial_stack(percentile_scale(vol.data)[0], vol.affine)
    test = central_slices(stack, 40)
    keep = [i for i in range(stack.shape[0])
            if (i < test.min() - GAP or i > test.max() + GAP)
            and foreground_fraction(stack[i:i + 1])[0] > 0.05]
    h, w = stack.shape[1] // s * s, stack.shape[2] // s * s
    hr = np.ascontiguousarray(stack[keep, :h, :w], np.float32)
    x, y, _ = extract_patch_pairs(bicubic_upscale_slices(degrade_slices(hr, s), s), hr, 40, 20)
    print(f"{len(keep)} training slices, {len(x)} patches", flush=True)
    net, _ = load_model(args.model or f"dnsp-edsr-ap-x{s}")
    hr_t, lr_t, subjects = load_test_set(args.test_set, s)

    def gain() -> float:
        net.eval()
        res = evaluate_methods({"bicubic": get_method("bicubic"), "m": NetworkMethod(net, s)},
                               hr_t, lr_t, subjects, s)
        return round(res["m"]["psnr"] - res["bicubic"]["psnr"], 3)

    print(f"before: gain {gain()} dB", flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    inputs, targets = torch.from_numpy(x)[:, None], torch.from_numpy(y)[:, None]
    start = time.time()
    for step in range(1, args.steps + 1):
        net.train()
        idx = torch.randint(0, len(inputs), (16,))
        loss = 0.5 * ((net(inputs[idx]) - targets[idx]) ** 2).sum() / 16
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(args.steps // 4, 1) == 0:
            print(f"step {step}: gain {gain()} dB ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
