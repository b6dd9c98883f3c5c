"""``dnsp degrade IN OUT --scale S``: the LR simulation of SPEC section 4 on a volume."""

from __future__ import annotations

import argparse

NAME = "degrade"
HELP = "simulate a low-resolution volume (axial blur sigma=s/2 + s x s block mean) with its affine"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("input", help="HR volume: NIfTI/Analyze/MINC file or a DICOM folder")
    parser.add_argument("output", help="LR volume to write (.nii or .nii.gz)")
    parser.add_argument("--scale", "-s", type=int, required=True,
                        help="integer downsampling factor s >= 2 (in the axial plane)")


def run(args: argparse.Namespace) -> int:
    """Read, degrade in the axial plane, write with the new affine."""
    from dnsp.data.degradation import degrade_volume
    from dnsp.data.io import load_volume, save_volume
    from dnsp.errors import InputError
    from dnsp.fsutil import ensure_distinct

    if args.scale < 2:
        raise InputError(f"--scale must be an integer >= 2, got {args.scale}")
    ensure_distinct(args.input, args.output)
    vol = load_volume(args.input)
    try:
        lr, lr_affine = degrade_volume(vol.data, vol.affine, args.scale)
    except ValueError as exc:
        raise InputError(f"cannot degrade {args.input}: {exc}") from exc
    save_volume(lr, lr_affine, args.output, like=vol)
    print(f"{args.output}: {tuple(vol.data.shape)} -> {tuple(lr.shape)} (scale {args.scale})")
    return 0
