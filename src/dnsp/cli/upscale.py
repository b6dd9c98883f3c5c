"""``dnsp upscale IN OUT --scale S``: super-resolve a volume or a folder of volumes.

IN is a NIfTI/Analyze/MINC file, a DICOM series folder, or a folder of volumes (any layout,
BIDS included). OUT is a ``.nii``/``.nii.gz`` file, a folder for folder input (mirrored
layout, finished files skipped), or for a DICOM series input a folder that receives a derived
DICOM series. Every argument error is one line (exit 2); the output is checked before any
work. See ``docs/upscale.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "upscale"
HELP = ("super-resolve a volume (or a folder of volumes) in its acquisition plane; NIfTI or "
        "DICOM out")

_OUT_SUFFIXES = (".nii", ".nii.gz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("input", nargs="?", help="NIfTI/Analyze/MINC file, DICOM series "
                        "folder, or a folder of volumes")
    parser.add_argument("output", nargs="?", help="output .nii/.nii.gz file, or a folder when "
                        "the input is a folder of volumes")
    parser.add_argument("--scale", "-s", metavar="S",
                        help="integer in-plane upscaling factor >= 2 (shipped models: 2, 3, 4)")
    parser.add_argument("--plane", default="auto",
                        choices=("auto", "axial", "coronal", "sagittal"),
                        help="plane the 2-D model works in: auto (default: the acquisition "
                        "plane of SPEC section 4: the two most nearly equal voxel spacings, then the "
                        "finer pair, then axial) or "
                        "a forced anatomical plane")
    parser.add_argument("--dtype", default="same", choices=("same", "float32", "int16", "uint8"),
                        help="NIfTI output type: same (default: the input's integer type and "
                        "scl_slope/scl_inter, float32 for float or DICOM inputs), float32, "
                        "int16, uint8; integer outputs are rounded and clipped (the count is "
                        "reported)")
    parser.add_argument("--format", dest="fmt", default="auto",
                        choices=("auto", "nifti", "dicom"),
                        help="output format: auto (default: a DICOM series input with an OUT "
                        "that is not a .nii/.nii.gz name gives a derived DICOM series in the "
                        "folder OUT; else NIfTI), nifti, dicom (folder mode: DICOM series "
                        "become series folders)")
    parser.add_argument("--qc", metavar="PNG",
                        help="write a before/after picture (3 views through the centre: input "
                        "nearest, input cubic, output, and a zoomed inset) to this .png; in "
                        "folder mode a folder receiving one PNG per volume")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", "-m", metavar="NAME_OR_CHECKPOINT",
                       help="shipped model name (see --list-models) or a model/checkpoint "
                       "file; default: the shipped DNSP model for the scale")
    which.add_argument("--method", metavar="NAME",
                       help="use a model-based method instead of a network: bicubic, lrtv, "
                       "srsw (any method registered in dnsp.methods)")
    parser.add_argument("--device", default="auto",
                        help="auto (default: CUDA, else Apple MPS, if available), cpu, cuda, "
                        "cuda:N or mps")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the network (default: the cores not busy with "
                        "other work, from the load average)")
    parser.add_argument("--ensemble", type=int, choices=(1, 2, 4, 8), default=None,
                        metavar="K", help="average the network over K flips/rotations of each "
                        "slice (1, 2, 4 or 8; K times the network time; default: the model's "
                        "own setting, shown by --list-models)")
    parser.add_argument("--tile-pixels", type=int, default=None, metavar="N",
                        help="largest tile (HR pixels, overlap included) per network call; "
                        "bounds memory (default 1048576 = 1024 x 1024)")
    parser.add_argument("--overwrite", action="store_true",
                        help="folder mode: redo outputs that already exist (default: skip)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show progress bars (default: only on a terminal)")
    bar.add_argument("--quiet", "-q", dest="progress", action="store_false",
                     help="no progress bars and no per-file lines")
    parser.add_argument("--acquisition", "-a", default="auto",
                        help="how the input was acquired: auto (default: estimated from the "
                        "image), gaussian (the paper's blur + block mean) or kspace (a "
                        "low-matrix scan); reported, written into the output header and "
                        "used for the consistency figure")
    parser.add_argument("--window", default=None,
                        help="with --acquisition kspace: the scanner's apodisation window "
                        "(none, hamming, hann, tukey, fermi)")
    parser.add_argument("--list-models", action="store_true",
                        help="list the shipped models (training data, degradation, size, "
                        "measured gain, cost) and exit")
    from dnsp.infer.through_plane_args import add_through_plane_arguments

    add_through_plane_arguments(parser)

    def one_line_error(message: str) -> None:  # argparse's usage block is not an explanation
        parser.exit(2, f"dnsp {NAME}: error: {message} (see dnsp {NAME} --help)\n")

    parser.error = one_line_error  # type: ignore[method-assign]


def _acquisition(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The ``--acquisition``/``--window`` model, or ``None`` for ``auto`` (estimated)."""
    from dnsp.acquisition import get_acquisition
    from dnsp.errors import InputError

    name = str(args.acquisition).lower()
    if name not in ("auto", "gaussian", "kspace"):
        raise InputError(f"unknown --acquisition {args.acquisition!r}; use auto, gaussian or "
                         "kspace")
    if args.window is not None and name != "kspace":
        raise InputError("--window needs --acquisition kspace")
    if name == "auto":
        return None
    params = {"window": args.window} if args.window is not None else {}
    try:
        return get_acquisition(name, scale=args.scale, **params)
    except ValueError as exc:
        raise InputError(f"--acquisition {name}: {exc}") from exc


def _list_models() -> int:
    from dnsp.infer.models_table import models_table

    print(models_table())
    return 0


def _scale(value: str | None) -> int:
    """``--scale`` as an integer >= 2, else a one-line error."""
    from dnsp.errors import InputError

    try:
        scale = int(str(value).strip())
    except ValueError:
        raise InputError(f"--scale must be an integer >= 2, got {value!r}") from None
    if scale < 2:
        raise InputError(f"--scale must be an integer >= 2, got {scale}")
    return scale


def _mode(inp: Path, out: Path, fmt: str) -> str:
    """``"file"``, ``"dicom"`` (one DICOM series to a derived series) or ``"folder"``.

    Raises:
        InputError: A folder of several volumes with a ``.nii``/``.nii.gz`` output name, or
            ``--format dicom`` for a single input that is not a DICOM series.
    """
    from dnsp.data.io import is_dicom_file
    from dnsp.errors import InputError
    from dnsp.infer.upscale import find_inputs

    to_file = out.name.lower().endswith(_OUT_SUFFIXES)
    if not inp.is_dir():
        if is_dicom_file(inp) and (fmt == "dicom" or (fmt == "auto" and not to_file)):
            return "dicom"
        if fmt == "dicom":
            raise InputError(f"--format dicom needs a DICOM series as input, got {inp}")
        return "file"
    items = find_inputs(inp)
    if len(items) == 1 and items[0][0] == inp:  # the folder is one DICOM series
        if fmt == "dicom" or (fmt == "auto" and not to_file):
            return "dicom"
        return "file" if to_file else "folder"
    if to_file and items:
        raise InputError(f"{inp} is a folder of {len(items)} volume(s): OUT must be a folder, "
                         f"not the file name {out.name}")
    return "file" if to_file else "folder"


def run(args: argparse.Namespace) -> int:
    """Check the arguments and the output, build the method, then upscale."""
    from dnsp.errors import InputError
    from dnsp.infer.upscale import (
        FileReport,
        check_file_output,
        check_folder_output,
        upscale_file,
        upscale_folder,
    )
    from dnsp.methods import MODEL_PREFIX, available_methods, build_method
    from dnsp.methods.network import auto_threads

    if args.list_models:
        return _list_models()
    if args.through_plane:  # thick-slice scans: docs/through_plane.md
        from dnsp.infer.through_plane import run_through_plane

        if args.scale is not None:
            args.scale = _scale(args.scale)
        return run_through_plane(args)
    if args.input is None or args.output is None or args.scale is None:
        raise InputError("give IN, OUT and --scale (see dnsp upscale --help)")
    args.scale = _scale(args.scale)
    if args.method is not None and args.method.lower() not in available_methods():
        raise InputError(f"unknown --method {args.method!r}; valid: "
                         f"{', '.join(available_methods())}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    if args.tile_pixels is not None and args.tile_pixels < 1:
        raise InputError(f"--tile-pixels must be >= 1, got {args.tile_pixels}")
    acquisition = _acquisition(args)
    inp, out = Path(args.input), Path(args.output)
    if not inp.exists():
        raise InputError(f"input does not exist: {inp}")
    mode = _mode(inp, out, args.fmt)
    if mode == "folder":
        check_folder_output(out, args.qc)
    else:  # before the model is loaded or the volume read
        check_file_output(inp, out, args.scale, fmt="dicom" if mode == "dicom" else "nifti",
                          qc=args.qc)
    try:
        # bicubic keeps every intensity (unclipped); LRTV and SRSW clip to [0, 1] as evaluated
        spec = (args.method.lower() if args.method
                else MODEL_PREFIX + args.model if args.model else None)
        method = build_method(spec, args.scale, device=args.device, acquisition=acquisition,
                              params={"clip": False} if spec == "bicubic" else None,
                              threads=args.threads if args.threads is not None
                              else auto_threads(),
                              max_pixels=args.tile_pixels, ensemble=args.ensemble)
    except ValueError as exc:  # e.g. a tile too small for the network's margin
        raise InputError(str(exc)) from exc
    options = {"acquisition": acquisition, "plane": args.plane, "dtype": args.dtype,
               "qc": args.qc}
    if mode != "folder":
        reports: list[FileReport] = []
        upscale_file(inp, out, method, args.scale, progress=args.progress,
                     report=reports.append, fmt="dicom" if mode == "dicom" else "nifti",
                     **options)
        if args.progress is not False:
            print(f"{out}: x{args.scale} with {method.name}; {reports[0].line()}")
        return 0
    quiet = args.progress is False
    result = upscale_folder(inp, out, method, args.scale, overwrite=args.overwrite,
                            progress=args.progress, fmt="dicom" if args.fmt == "dicom"
                            else "nifti", **options,
                            log=None if quiet else (lambda line: print(line, flush=True)))
    summary = (f"{len(result.written)} written, {len(result.skipped)} skipped, "
               f"{len(result.failed)} failed (x{args.scale} with {method.name})")
    if result.failed:
        first, why = result.failed[0]
        raise InputError(f"{summary}; first failure: {first}: {why}")
    if not quiet:
        print(summary, file=sys.stdout)
    return 0
