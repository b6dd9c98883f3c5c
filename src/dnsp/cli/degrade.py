"""``dnsp degrade IN OUT --scale S``: simulate a low-resolution acquisition of a volume.

The acquisition model is the paper's (Gaussian blur sigma = s/2, s x s block mean) unless
``--acquisition`` names another registered model that simulates from one volume
(:func:`dnsp.acquisition.command_line_acquisitions`): ``kspace`` (central 1/s of k-space,
optional vendor window), ``slices`` (thick slices ``s`` voxels apart along the axial slice
axis, a test scan for ``dnsp upscale --through-plane``), or any model added to the registry.
``--noise`` adds Rician noise (docs/data.md). The model's own options (``--sigma``,
``--window``, ``--window-param``, ``--slice-thickness``, ``--profile``) are passed to it; one
it does not take is refused in one line.
"""

from __future__ import annotations

import argparse

from dnsp.cli._request import RegisteredAcquisitions, one_line_errors

NAME = "degrade"
HELP = ("simulate a low-resolution volume (the paper's blur + block mean in the axial plane, "
        "k-space truncation, thick slices, or any registered model; optional Rician noise) "
        "with its affine")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("input", help="HR volume: NIfTI/Analyze/MINC file or a DICOM folder")
    parser.add_argument("output", help="LR volume to write (.nii or .nii.gz)")
    parser.add_argument("--scale", "-s", type=int, required=True,
                        help="integer factor s >= 2: in the axial plane, or for slices the "
                        "slice spacing in voxels of the slice axis")
    parser.add_argument("--acquisition", "-a", default="gaussian", metavar="NAME",
                        choices=RegisteredAcquisitions(),
                        help="a registered acquisition model (%(choices)s): gaussian (the "
                        "paper's, default), kspace (central 1/s of k-space: sharp band limit "
                        "with ringing), slices (thick axial slices)")
    parser.add_argument("--sigma", type=float, default=None,
                        help="gaussian: blur in HR voxels (default s/2)")
    parser.add_argument("--window", default=None,
                        help="kspace: apodisation window none, hamming, hann, tukey or fermi")
    parser.add_argument("--window-param", type=float, default=None,
                        help="kspace: Tukey alpha in [0, 1] or Fermi width in (0, 0.5]")
    parser.add_argument("--slice-thickness", type=float, default=None, metavar="MM",
                        help="slices: slice thickness in mm (default: the slice spacing, "
                        "contiguous slices; thinner: gaps)")
    parser.add_argument("--profile", default=None, metavar="rect|gaussian|FILE",
                        help="slices: slice profile (default rect)")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="Rician noise: standard deviation as a fraction of the volume's "
                        "99.9th percentile (e.g. 0.02 for 2%%; default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    one_line_errors(parser, NAME)


def _acquisition(args: argparse.Namespace, fine_spacing: float):  # type: ignore[no-untyped-def]
    """The model of the arguments (its options checked against the registry's class)."""
    from dnsp.acquisition import acquisition_class
    from dnsp.cli._request import acquisition_options
    from dnsp.errors import InputError

    name = str(args.acquisition).lower()
    if not args.noise >= 0:
        raise InputError(f"--noise must be >= 0, got {args.noise}")
    given = {dest: getattr(args, dest) for dest in
             ("sigma", "window", "window_param", "slice_thickness", "profile")}
    given["noise"] = args.noise if args.noise > 0 else None
    options = acquisition_options(name, given)
    try:
        return acquisition_class(name).from_command_line(args.scale, fine_spacing, **options)
    except ValueError as exc:
        raise InputError(f"--acquisition {name}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    """Check the options, read, acquire, write with the new affine."""
    from dnsp.cli._request import parse_scale
    from dnsp.data.degradation import degrade_volume
    from dnsp.data.io import load_volume, save_volume
    from dnsp.data.orientation import axial_axes
    from dnsp.data.volume import voxel_sizes
    from dnsp.errors import InputError
    from dnsp.fsutil import ensure_distinct

    scale = parse_scale(args.scale)
    _acquisition(args, 1.0)  # every option checked before the volume is read
    ensure_distinct(args.input, args.output)
    vol = load_volume(args.input)
    acq = _acquisition(args, float(voxel_sizes(vol.affine)[axial_axes(vol.affine)[2]]))
    try:
        lr, lr_affine = degrade_volume(vol.data, vol.affine, scale, acq, seed=args.seed)
    except ValueError as exc:
        raise InputError(f"cannot degrade {args.input}: {exc}") from exc
    save_volume(lr, lr_affine, args.output, like=vol)
    print(f"{args.output}: {tuple(vol.data.shape)} -> {tuple(lr.shape)} ({acq.describe()})")
    return 0
