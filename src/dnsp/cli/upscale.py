"""``dnsp upscale IN OUT --scale S``: super-resolve a volume or a folder of volumes.

IN is a NIfTI/Analyze/MINC file, a DICOM series folder, or a folder of volumes (any layout,
BIDS included). OUT is a ``.nii``/``.nii.gz`` file, a folder for folder input (mirrored
layout, finished files skipped), or for a DICOM series input a folder that receives a derived
DICOM series. The arguments and the input's header become one request
(:func:`dnsp.cli._request.build_request`): every error is one line (exit 2) before any work;
:func:`dnsp.infer.run.run_request` runs it. See ``docs/upscale.md``.
"""

from __future__ import annotations

import argparse

from dnsp.cli._request import (
    add_through_plane_arguments,
    add_upscale_arguments,
    one_line_errors,
)

NAME = "upscale"
HELP = ("super-resolve a volume (or a folder of volumes) in its acquisition plane; NIfTI or "
        "DICOM out")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("input", nargs="?", help="NIfTI/Analyze/MINC file, DICOM series "
                        "folder, or a folder of volumes")
    parser.add_argument("output", nargs="?", help="output .nii/.nii.gz file, or a folder when "
                        "the input is a folder of volumes")
    add_upscale_arguments(parser)
    parser.add_argument("--format", dest="fmt", default="auto",
                        choices=("auto", "nifti", "dicom"),
                        help="output format: auto (default: a DICOM series input with an OUT "
                        "that is not a .nii/.nii.gz name gives a derived DICOM series in the "
                        "folder OUT; else NIfTI), nifti, dicom (folder mode: DICOM series "
                        "become series folders)")
    parser.add_argument("--qc", metavar="PNG",
                        help="write a before/after picture (3 views through the centre: input "
                        "nearest, input cubic, output, and a crop at the output's resolution; "
                        "at least 1000 pixels wide) to this .png; in folder mode a folder "
                        "receiving one PNG per volume")
    parser.add_argument("--list-models", action="store_true",
                        help="list the shipped models (training data, degradation, size, "
                        "self-ensemble, measured gain, cost) and exit")
    add_through_plane_arguments(parser)
    one_line_errors(parser, NAME)  # argparse's usage block is not an explanation


def run(args: argparse.Namespace) -> int:
    """Build the request (every check, before any work), run it, print its lines."""
    from dnsp.cli._request import build_request
    from dnsp.errors import InputError
    from dnsp.infer.run import run_request

    if args.list_models:
        from dnsp.infer.models_table import models_table

        print(models_table())
        return 0
    request = build_request(args)
    quiet = args.progress is False
    outcome = run_request(request, log=None if quiet else (lambda line: print(line, flush=True)))
    if outcome.through_plane is not None:
        if not quiet:
            print(f"{request.out}: {outcome.through_plane.line()}")
        return 0
    if outcome.file is not None:
        if not quiet:
            served = outcome.file.served or f"{request.method_name}{request.method_why}"
            print(f"{request.out}: x{request.scale} with {served}; {outcome.file.line()}")
        return 0
    result = outcome.folder
    assert result is not None
    summary = (f"{len(result.written)} written, {len(result.skipped)} skipped, "
               f"{len(result.failed)} failed (x{request.scale} with {request.method_name})")
    if result.failed:
        first, why = result.failed[0]
        raise InputError(f"{summary}; first failure: {first}: {why}")
    if not quiet:
        print(summary)
    return 0
