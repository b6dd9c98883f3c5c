"""``dnsp bids BIDS_DIR OUTPUT_DIR participant``: the BIDS App (BIDS-derivatives output).

Follows the BIDS Apps conventions: positional ``bids_dir output_dir analysis_level``,
``--participant-label`` (or ``--participant_label``) with or without ``sub-``; ``group`` is
rejected (there is no group-level step). ``--shard I/N`` runs the I-th of N disjoint parts of
the sorted participants, for SLURM/SGE job arrays or GNU parallel. Every upscale option of
``dnsp upscale`` (scale, plane, output type, model or method, acquisition, device, threads,
self-ensemble, tiles, overwrite) is declared and checked by the same code
(:mod:`dnsp.cli._request`) and reaches every image. See ``docs/bids.md``.
"""

from __future__ import annotations

import argparse

from dnsp.cli._request import add_upscale_arguments, one_line_errors

NAME = "bids"
HELP = ("BIDS App: super-resolve the anatomical images of a BIDS dataset into a "
        "BIDS-derivatives dataset (job-array ready)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    from dnsp.bids.layout import DEFAULT_SUFFIXES

    parser.add_argument("bids_dir", help="the raw BIDS dataset (with dataset_description.json)")
    parser.add_argument("output_dir", help="the derivative dataset folder, e.g. "
                        "BIDS_DIR/derivatives/dnsp (created if needed)")
    parser.add_argument("analysis_level", help="'participant' (the only level: there is no "
                        "group-level step)")
    parser.add_argument("--participant-label", "--participant_label", nargs="+", metavar="L",
                        dest="participant_label", help="participants to process, with or "
                        "without 'sub-' (default: all)")
    parser.add_argument("--session-label", "--session_label", nargs="+", metavar="L",
                        dest="session_label", help="sessions to process, with or without "
                        "'ses-' (default: all)")
    parser.add_argument("--suffix", nargs="+", default=list(DEFAULT_SUFFIXES), metavar="S",
                        help=f"anat suffixes to process (default: {' '.join(DEFAULT_SUFFIXES)})")
    parser.add_argument("--shard", default="1/1", metavar="I/N",
                        help="process the I-th of N disjoint parts of the sorted participant "
                        "list (1 <= I <= N; e.g. $SLURM_ARRAY_TASK_ID/N); default 1/1")
    add_upscale_arguments(parser, scale_default=2)
    parser.add_argument("--desc", default=None, metavar="LABEL",
                        help="label of the desc- entity (default: dnsp for a network, else "
                        "the method's name)")
    parser.add_argument("--no-qc", dest="qc", action="store_false",
                        help="do not draw the QC pictures (saves 0.5-2 s per output)")
    one_line_errors(parser, NAME)


def run(args: argparse.Namespace) -> int:
    """Plan (checks everything, writes nothing), build the method, run the shard."""
    from dnsp.bids import parse_shard, plan_run, run_plan
    from dnsp.cli._request import (
        build_method,
        check_method_arguments,
        given_acquisition,
        parse_scale,
    )
    from dnsp.errors import InputError
    from dnsp.infer.request import UpscaleRequest

    level = str(args.analysis_level)
    if level == "group":
        raise InputError("analysis level 'group' is not supported: dnsp has no group-level "
                         "step; run 'participant' (use --shard I/N to split a cohort)")
    if level != "participant":
        raise InputError(f"analysis level must be 'participant', got {level!r}")
    shard = parse_shard(args.shard)
    scale = parse_scale(args.scale)
    check_method_arguments(args)
    acquisition = given_acquisition(args.acquisition, args.window, scale)
    if args.desc is not None and not args.desc.isalnum():
        raise InputError(f"--desc must be letters and digits only, got {args.desc!r}")
    plan = plan_run(args.bids_dir, args.output_dir, participant_labels=args.participant_label,
                    session_labels=args.session_label, suffixes=args.suffix, shard=shard)
    quiet = args.progress is False
    if not plan.images:
        if not quiet:
            print(f"shard {shard[0]}/{shard[1]}: nothing to do ({len(plan.shard_participants)} "
                  f"of {len(plan.participants)} participants, no matching image)")
        return 0
    method = build_method(args, scale, acquisition)
    request = UpscaleRequest(
        inp=plan.bids_dir, out=plan.output_dir, mode="folder", method=method, scale=scale,
        plane=args.plane, acquisition=acquisition, dtype=args.dtype,
        overwrite=args.overwrite, progress=args.progress)
    model = None if args.method else str(method.name)
    records = run_plan(plan, request, model=model, desc=args.desc, qc=args.qc,
                       log=None if quiet else (lambda line: print(line, flush=True)))
    failed = [r for r in records if r.status == "failed"]
    written = sum(r.status == "written" for r in records)
    summary = (f"shard {shard[0]}/{shard[1]}: {written} written, "
               f"{len(records) - written - len(failed)} skipped, {len(failed)} failed "
               f"(x{scale} with {method.name}); summary: "
               f"{plan.output_dir / plan.summary_name}")
    if failed:
        raise InputError(f"{summary}; first failure: {failed[0].source}: {failed[0].error}")
    if not quiet:
        print(summary)
    return 0
