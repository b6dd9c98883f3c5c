"""``dnsp lowfield IN OUT --from 3 --to 1.5``: low-field simulation (paper Sec. IV-E)."""

from __future__ import annotations

import argparse

NAME = "lowfield"
HELP = "simulate a lower-field scan (signal ~ B0^2, noise ~ B0, k-space complex noise)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("input", help="magnitude volume at the higher field")
    parser.add_argument("output", help="simulated volume to write (.nii or .nii.gz)")
    parser.add_argument("--from", dest="b_high", type=float, default=3.0,
                        help="field strength of the input in tesla (default 3)")
    parser.add_argument("--to", dest="b_low", type=float, default=1.5,
                        help="target field strength in tesla (default 1.5)")
    parser.add_argument("--relaxation-factor", type=float, default=1.0,
                        help="global relaxation-correction factor c multiplying the B0^2 "
                             "signal scaling (default 1: SNR scales by B_low/B_high)")
    parser.add_argument("--noise-sigma", type=float, default=None,
                        help="noise std of the input (default: estimated from the background)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--keep-signal-scale", action="store_true",
                        help="write intensities scaled by (B_low/B_high)^2 c instead of the "
                             "input's units")


def run(args: argparse.Namespace) -> int:
    """Read, simulate, write."""
    from dnsp.acquisition.lowfield import simulate_low_field
    from dnsp.data.io import load_volume, save_volume
    from dnsp.errors import InputError
    from dnsp.fsutil import ensure_distinct

    ensure_distinct(args.input, args.output)
    vol = load_volume(args.input)
    if float(vol.data.min()) < 0:
        raise InputError(f"{args.input} has negative values; give a magnitude image")
    try:
        res = simulate_low_field(vol.data, args.b_high, args.b_low, args.relaxation_factor,
                                 args.noise_sigma, args.seed, rescale=not args.keep_signal_scale)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    save_volume(res.data, vol.affine, args.output, like=vol)
    print(f"{args.output}: {args.b_high:g} T -> {args.b_low:g} T, input noise sigma "
          f"{res.sigma_high:.4g}, added {res.sigma_added:.4g}, SNR ratio {res.snr_ratio:.3g}")
    return 0
