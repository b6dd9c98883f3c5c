"""``dnsp degrade IN OUT --scale S``: simulate a low-resolution acquisition of a volume.

The acquisition model is the paper's (Gaussian blur sigma = s/2, s x s block mean) unless
``--acquisition kspace`` asks for a low-matrix acquisition (central 1/s of k-space, optional
vendor window); ``--noise`` adds Rician noise to either (docs/data.md).
"""

from __future__ import annotations

import argparse

NAME = "degrade"
HELP = ("simulate a low-resolution volume in the axial plane (the paper's blur + block mean, "
        "or k-space truncation; optional Rician noise) with its affine")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("input", help="HR volume: NIfTI/Analyze/MINC file or a DICOM folder")
    parser.add_argument("output", help="LR volume to write (.nii or .nii.gz)")
    parser.add_argument("--scale", "-s", type=int, required=True,
                        help="integer downsampling factor s >= 2 (in the axial plane)")
    parser.add_argument("--acquisition", "-a", default="gaussian",
                        help="gaussian (the paper's, default) or kspace (central 1/s of "
                        "k-space: sharp band limit with ringing)")
    parser.add_argument("--sigma", type=float, default=None,
                        help="gaussian: blur in HR voxels (default s/2)")
    parser.add_argument("--window", default=None,
                        help="kspace: apodisation window none, hamming, hann, tukey or fermi")
    parser.add_argument("--window-param", type=float, default=None,
                        help="kspace: Tukey alpha in [0, 1] or Fermi width in (0, 0.5]")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="Rician noise: standard deviation as a fraction of the volume's "
                        "99.9th percentile (e.g. 0.02 for 2%%; default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")


def _acquisition(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from dnsp.acquisition import get_acquisition
    from dnsp.errors import InputError

    name = str(args.acquisition).lower()
    if name not in ("gaussian", "kspace"):
        raise InputError(f"unknown --acquisition {args.acquisition!r}; use gaussian or kspace")
    params: dict[str, object] = {"scale": args.scale, "noise": args.noise}
    if name == "gaussian":
        if args.window is not None or args.window_param is not None:
            raise InputError("--window and --window-param need --acquisition kspace")
        if args.sigma is not None:
            params["sigma"] = args.sigma
    else:
        if args.sigma is not None:
            raise InputError("--sigma is for --acquisition gaussian")
        params["window"] = args.window or "none"
        if args.window_param is not None:
            params["window_param"] = args.window_param
    if not args.noise >= 0:
        raise InputError(f"--noise must be >= 0, got {args.noise}")
    try:
        return get_acquisition(name, **params)
    except ValueError as exc:
        raise InputError(f"--acquisition {name}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    """Check the options, read, acquire in the axial plane, write with the new affine."""
    from dnsp.data.degradation import degrade_volume
    from dnsp.data.io import load_volume, save_volume
    from dnsp.errors import InputError
    from dnsp.fsutil import ensure_distinct

    if args.scale < 2:
        raise InputError(f"--scale must be an integer >= 2, got {args.scale}")
    acq = _acquisition(args)
    ensure_distinct(args.input, args.output)
    vol = load_volume(args.input)
    try:
        lr, lr_affine = degrade_volume(vol.data, vol.affine, args.scale, acq, seed=args.seed)
    except ValueError as exc:
        raise InputError(f"cannot degrade {args.input}: {exc}") from exc
    save_volume(lr, lr_affine, args.output, like=vol)
    print(f"{args.output}: {tuple(vol.data.shape)} -> {tuple(lr.shape)} ({acq.describe()})")
    return 0
