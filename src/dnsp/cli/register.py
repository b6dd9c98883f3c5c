"""``dnsp register MOVING FIXED OUT``: rigid/affine registration with SimpleITK (Sec. IV-F)."""

from __future__ import annotations

import argparse

NAME = "register"
HELP = "register a scan to a reference (SimpleITK, Mattes MI, rigid or affine) and resample it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("moving", help="volume to register (e.g. the LR scan)")
    parser.add_argument("fixed", help="reference volume (e.g. the HR scan); defines the grid")
    parser.add_argument("output", help="registered volume on the reference grid (.nii/.nii.gz)")
    parser.add_argument("--transform", choices=("rigid", "affine"), default="rigid",
                        help="transform model (default rigid)")
    parser.add_argument("--iterations", type=int, default=200,
                        help="optimiser iterations per resolution level (default 200)")
    parser.add_argument("--interpolation", choices=("linear", "bspline"), default="linear",
                        help="interpolation of the final resampling (default linear)")
    parser.add_argument("--save-transform", metavar="PATH", default=None,
                        help="also write the ITK transform (.tfm)")
    parser.add_argument("--seed", type=int, default=0, help="metric sampling seed (default 0)")


def run(args: argparse.Namespace) -> int:
    """Read both volumes, register, write."""
    from pathlib import Path

    from dnsp.data.io import load_volume, save_volume
    from dnsp.data.registration import register_volumes
    from dnsp.errors import InputError
    from dnsp.fsutil import atomic_path, ensure_distinct

    ensure_distinct(args.moving, args.output)
    ensure_distinct(args.fixed, args.output)
    if args.iterations < 1:
        raise InputError("--iterations must be >= 1")
    moving = load_volume(args.moving)
    fixed = load_volume(args.fixed)
    try:
        res = register_volumes(moving, fixed, kind=args.transform, iterations=args.iterations,
                               seed=args.seed, interpolation=args.interpolation)
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"registration failed: {exc}") from exc
    if args.save_transform:
        import SimpleITK as sitk

        with atomic_path(Path(args.save_transform)) as tmp:
            sitk.WriteTransform(res.transform, str(tmp))
    save_volume(res.data, res.affine, args.output, like=fixed)
    print(f"{args.output}: {args.transform} registration, final metric {res.metric:.4g}")
    return 0
