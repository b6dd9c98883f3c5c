"""``dnsp bids BIDS_DIR OUTPUT_DIR participant``: the BIDS App (BIDS-derivatives output).

Follows the BIDS Apps conventions: positional ``bids_dir output_dir analysis_level``,
``--participant-label`` (or ``--participant_label``) with or without ``sub-``; ``group`` is
rejected (there is no group-level step). ``--shard I/N`` runs the I-th of N disjoint parts of
the sorted participants, for SLURM/SGE job arrays or GNU parallel. See ``docs/bids.md``.
"""

from __future__ import annotations

import argparse

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
    parser.add_argument("--scale", "-s", type=int, default=2,
                        help="integer in-plane upscaling factor >= 2 (default 2)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", "-m", metavar="NAME_OR_CHECKPOINT",
                       help="shipped model name or model/checkpoint file (default: the shipped "
                       "DNSP model for the scale)")
    which.add_argument("--method", choices=("bicubic", "lrtv", "srsw"),
                       help="use a model-based method instead of a network")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the network (default: the free cores)")
    parser.add_argument("--ensemble", type=int, choices=(1, 2, 4, 8), default=None,
                        metavar="K", help="self-ensemble size (default: the model's own)")
    parser.add_argument("--tile-pixels", type=int, default=None, metavar="N",
                        help="largest network tile in HR pixels (bounds memory)")
    parser.add_argument("--desc", default=None, metavar="LABEL",
                        help="label of the desc- entity (default: dnsp for a network, else "
                        "the method's name)")
    parser.add_argument("--no-qc", dest="qc", action="store_false",
                        help="do not draw the QC thumbnails (saves 0.1-2 s per output)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo finished outputs (default: skip them)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show slice progress bars (default: only on a terminal)")
    bar.add_argument("--quiet", "-q", dest="progress", action="store_false",
                     help="no progress bars and no per-output lines")


def run(args: argparse.Namespace) -> int:
    """Plan (checks everything, writes nothing), build the method, run the shard."""
    from dnsp.bids import parse_shard, plan_run, run_plan
    from dnsp.errors import InputError

    level = str(args.analysis_level)
    if level == "group":
        raise InputError("analysis level 'group' is not supported: dnsp has no group-level "
                         "step; run 'participant' (use --shard I/N to split a cohort)")
    if level != "participant":
        raise InputError(f"analysis level must be 'participant', got {level!r}")
    shard = parse_shard(args.shard)
    if args.scale < 2:
        raise InputError(f"--scale must be an integer >= 2, got {args.scale}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    if args.tile_pixels is not None and args.tile_pixels < 1:
        raise InputError(f"--tile-pixels must be >= 1, got {args.tile_pixels}")
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
    from dnsp.methods import MODEL_PREFIX, build_method
    from dnsp.methods.network import auto_threads

    try:
        # as dnsp upscale: bicubic keeps every intensity (unclipped)
        spec = args.method or (MODEL_PREFIX + args.model if args.model else None)
        method = build_method(spec, args.scale, device=args.device,
                              params={"clip": False} if args.method == "bicubic" else None,
                              threads=args.threads if args.threads is not None
                              else auto_threads(),
                              max_pixels=args.tile_pixels, ensemble=args.ensemble)
    except ValueError as exc:  # e.g. a tile too small for the network's margin
        raise InputError(str(exc)) from exc
    model = None if args.method else str(method.name)
    records = run_plan(plan, method, args.scale, model=model, desc=args.desc, qc=args.qc,
                       overwrite=args.overwrite, progress=args.progress,
                       log=None if quiet else (lambda line: print(line, flush=True)))
    failed = [r for r in records if r.status == "failed"]
    written = sum(r.status == "written" for r in records)
    summary = (f"shard {shard[0]}/{shard[1]}: {written} written, "
               f"{len(records) - written - len(failed)} skipped, {len(failed)} failed "
               f"(x{args.scale} with {method.name}); summary: "
               f"{plan.output_dir / plan.summary_name}")
    if failed:
        raise InputError(f"{summary}; first failure: {failed[0].source}: {failed[0].error}")
    if not quiet:
        print(summary)
    return 0
