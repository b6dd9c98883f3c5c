"""The upscale options of ``dnsp upscale`` and ``dnsp bids``, and the one request built from
them (:func:`build_request`): every check of an upscale, each error one line, before any
work; :mod:`dnsp.infer` then runs the request without re-checking it.

Not a subcommand (the leading underscore): the dispatcher skips it. Heavy modules (torch,
the methods) are imported inside the functions that need them, so that ``dnsp --help`` stays
fast; the ``--acquisition`` choices are the acquisition registry's, read when the option is
used or its help shown (:class:`RegisteredAcquisitions`).
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnsp.errors import InputError
from dnsp.infer.request import DEFAULT_PROFILE, DEFAULT_TIME_BUDGET, ThroughPlaneOptions

if TYPE_CHECKING:  # typing only
    from dnsp.acquisition import Acquisition
    from dnsp.infer.request import UpscaleRequest
    from dnsp.methods import SRMethod

__all__ = [
    "RegisteredAcquisitions",
    "acquisition_options",
    "add_through_plane_arguments",
    "add_upscale_arguments",
    "build_method",
    "build_request",
    "check_method_arguments",
    "given_acquisition",
    "one_line_errors",
    "parse_scale",
]

#: Model options of ``dnsp degrade`` / ``dnsp upscale``: argparse dest -> constructor keyword.
ACQUISITION_OPTIONS = {"sigma": "sigma", "window": "window", "window_param": "window_param",
                       "noise": "noise", "slice_thickness": "thickness", "profile": "profile"}
_THROUGH_PLANE_ONLY = {"target_spacing": "--target-spacing", "slice_thickness":
                       "--slice-thickness", "profile": "--profile"}


class RegisteredAcquisitions(Sequence[str]):
    """The ``--acquisition`` choices: ``extra`` names, then every registered model that the
    commands offer (:func:`dnsp.acquisition.command_line_acquisitions`), read lazily."""

    def __init__(self, extra: Sequence[str] = ()) -> None:
        self._extra = tuple(extra)

    def _names(self) -> list[str]:
        from dnsp.acquisition import command_line_acquisitions

        return [*self._extra, *command_line_acquisitions()]

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._names()


def one_line_errors(parser: argparse.ArgumentParser, command: str) -> None:
    """Make argparse's errors of ``dnsp COMMAND`` one line (exit 2), not a usage block."""

    def one_line_error(message: str) -> None:
        parser.exit(2, f"dnsp {command}: error: {message} (see dnsp {command} --help)\n")

    parser.error = one_line_error  # type: ignore[method-assign]


def parse_scale(value: object) -> int:
    """``--scale`` as an integer >= 2 (the one parse of the command line), else one line."""
    from dnsp.ops import check_scale

    try:
        return check_scale(int(str(value).strip()), 2)
    except ValueError:
        raise InputError(f"--scale must be an integer >= 2, got {value!r}") from None


def add_upscale_arguments(parser: argparse.ArgumentParser, *, scale_default: int | None = None
                          ) -> None:
    """Declare the options of an in-plane upscale shared by ``dnsp upscale`` and ``dnsp bids``:
    scale, plane, output type, method or model, device, threads, self-ensemble, tiles,
    acquisition, overwrite, progress."""
    parser.add_argument("--scale", "-s", metavar="S", default=scale_default,
                        help="integer in-plane upscaling factor >= 2 (shipped models: 2, 3, 4)"
                        + (f"; default {scale_default}" if scale_default else ""))
    parser.add_argument("--plane", default="auto",
                        choices=("auto", "axial", "coronal", "sagittal"),
                        help="plane the 2-D model works in: auto (default: the acquisition "
                        "plane of SPEC section 4: the two most nearly equal voxel spacings, "
                        "then the finer pair, then axial) or a forced anatomical plane")
    parser.add_argument("--dtype", default="same", choices=("same", "float32", "int16", "uint8"),
                        help="NIfTI output type: same (default: the input's integer type and "
                        "scl_slope/scl_inter, float32 for float or DICOM inputs), float32, "
                        "int16, uint8; integer outputs are rounded and clipped (the count is "
                        "reported)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", "-m", metavar="NAME_OR_CHECKPOINT",
                       help="shipped model name (see dnsp upscale --list-models) or a "
                       "model/checkpoint file; default: the shipped DNSP model for the scale")
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
                        "own setting, shown by dnsp upscale --list-models)")
    parser.add_argument("--gate", type=float, default=None, metavar="K",
                        help="noise gate on what a network adds beyond the input's band: "
                        "fades it where it is weaker than K times the input's noise, so "
                        "that a scan's noise is not turned into texture (0: off; default 2 "
                        "with --acquisition auto, 0 with a named acquisition; a scan read as "
                        "a plain low-matrix acquisition with white noise is not gated; "
                        "docs/acquisition.md)")
    parser.add_argument("--flat-gate", type=float, default=None, metavar="T",
                        help="flat gate on what a network adds beyond the input's band: "
                        "fades it where the anatomy has no edge of contrast T per input "
                        "voxel (intensity scale 0-1 of the 99.9th percentile), where there is "
                        "nothing beyond the band to recover (0: off; default 0.04 with "
                        "--acquisition auto, 0 with a named acquisition; ten passes on a scan "
                        "read as a smooth band limit; docs/acquisition.md)")
    parser.add_argument("--tile-pixels", type=int, default=None, metavar="N",
                        help="largest tile (HR pixels, overlap included) per network call; "
                        "bounds memory (default 1048576 = 1024 x 1024)")
    parser.add_argument("--acquisition", "-a", default="auto", metavar="NAME",
                        choices=RegisteredAcquisitions(("auto",)),
                        help="how the input was acquired: auto (default: estimated from the "
                        "image) or a registered acquisition model (%(choices)s); reported, "
                        "written into the output header and used for the consistency figure; "
                        "'slices' is the thick-slice model of --through-plane")
    parser.add_argument("--window", default=None,
                        help="with an acquisition model that has one (kspace): the scanner's "
                        "apodisation window (none, hamming, hann, tukey, fermi)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs that exist (default: an existing output file is "
                        "refused; in folder mode and dnsp bids finished outputs are skipped, "
                        "so that a rerun resumes)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show progress bars (default: only on a terminal)")
    bar.add_argument("--quiet", "-q", dest="progress", action="store_false",
                     help="no progress bars and no per-file lines")


def add_through_plane_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``--through-plane``, ``--target-spacing``, ``--slice-thickness``, ``--profile``
    and ``--time-budget`` (``dnsp upscale``)."""
    group = parser.add_argument_group("thick-slice scans (docs/through_plane.md)")
    group.add_argument("--through-plane", action="store_true",
                       help="restore the thick slice axis (largest spacing) with the "
                       "self-adapting through-plane network; with --scale the in-plane axes "
                       "are upscaled first (an isotropic volume); --dtype and --qc apply, "
                       "--acquisition may be auto or slices")
    group.add_argument("--target-spacing", type=float, default=None, metavar="MM",
                       help="output spacing along the slice axis (default: in-plane spacing)")
    group.add_argument("--slice-thickness", type=float, default=None, metavar="MM",
                       help="slice thickness (default: the slice spacing; thinner: gaps)")
    group.add_argument("--profile", default=None, metavar="rect|gaussian|FILE",
                       help=f"slice profile: rect, gaussian (FWHM = thickness) or a text file "
                       f"of samples (default {DEFAULT_PROFILE}; docs/through_plane.md)")
    group.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET, metavar="S",
                       help=f"seconds of per-volume adaptation (default {DEFAULT_TIME_BUDGET:g};"
                       " 0: the pretrained network only)")


def acquisition_options(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """The model options the user gave (argparse dest -> value, ``None`` = not given) as
    constructor keywords of the registered model ``name``.

    Raises:
        InputError: An option the model does not take, e.g. ``--window`` with ``gaussian``.
    """
    from dnsp.acquisition import acquisition_class

    cls = acquisition_class(name)
    accepted = set(inspect.signature(cls.__init__).parameters)
    options = {}
    for dest, value in given.items():
        if value is None:
            continue
        keyword = ACQUISITION_OPTIONS[dest]
        if keyword not in accepted:
            flag = "--" + dest.replace("_", "-")
            raise InputError(f"{flag} is not an option of --acquisition {name} (its options: "
                             f"{_flags(accepted) or 'none'})")
        options[keyword] = value
    return options


def _flags(accepted: set[str]) -> str:
    by_keyword = {kw: "--" + dest.replace("_", "-") for dest, kw in ACQUISITION_OPTIONS.items()}
    return ", ".join(flag for kw, flag in by_keyword.items() if kw in accepted)


def given_acquisition(name: str, window: str | None, scale: int | None, *,
                      through_plane: bool = False) -> Acquisition | None:
    """The ``--acquisition``/``--window`` model of an upscale, ``None`` for ``auto``.

    With ``--through-plane`` only ``auto`` and ``slices`` (the thick-slice model, described by
    ``--slice-thickness`` and ``--profile``) are accepted, and ``None`` is returned; without
    it ``slices`` is refused.

    Raises:
        InputError: An unknown model, an option it does not take, a bad value, or a model
            that does not fit the path.
    """
    from dnsp.acquisition import acquisition_class

    key = str(name).lower()
    if key == "auto":
        if window is not None:
            raise InputError("--window needs a named --acquisition (e.g. kspace), not auto")
        return None
    try:
        cls = acquisition_class(key)
    except ValueError as exc:
        raise InputError(f"--acquisition: {exc}") from None
    if through_plane:
        if not cls.along_slices:
            raise InputError(f"--acquisition {key} does not describe a thick-slice scan: with "
                             "--through-plane use auto or slices (--slice-thickness, --profile)")
        if window is not None:
            raise InputError("--window is not an option of --through-plane")
        return None
    if cls.along_slices:
        raise InputError(f"--acquisition {key} is the thick-slice model: add --through-plane")
    options = acquisition_options(key, {"window": window})
    try:
        return cls.from_command_line(scale or 2, 1.0, **options)
    except ValueError as exc:
        raise InputError(f"--acquisition {key}: {exc}") from None


def check_method_arguments(args: argparse.Namespace) -> None:
    """The method options that need no file: method name, threads, tile size."""
    from dnsp.methods import available_methods

    if args.method is not None and args.method.lower() not in available_methods():
        raise InputError(f"unknown --method {args.method!r}; valid: "
                         f"{', '.join(available_methods())}")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    if args.tile_pixels is not None and args.tile_pixels < 1:
        raise InputError(f"--tile-pixels must be >= 1, got {args.tile_pixels}")


def build_method(args: argparse.Namespace, scale: int, acquisition: Acquisition | None
                 ) -> SRMethod:
    """The method of ``--model``/``--method`` (default: the shipped model for the scale)."""
    from dnsp.methods import MODEL_PREFIX
    from dnsp.methods import build_method as build
    from dnsp.methods.tiling import auto_threads
    from dnsp.ops.band_gate import shipped_gates

    method = args.method.lower() if args.method else None
    spec = method or (MODEL_PREFIX + args.model if args.model else None)
    gates = shipped_gates(named=acquisition is not None)
    try:
        # bicubic keeps every intensity (unclipped); LRTV and SRSW clip to [0, 1] as evaluated
        network = spec is None or spec.startswith(MODEL_PREFIX)
        for flag, value in (("--gate", args.gate), ("--flat-gate", args.flat_gate)):
            if value is not None and not network:
                raise InputError(f"{flag} is for networks, not --method {spec}")
            if value is not None and not value >= 0:
                raise InputError(f"{flag} must be >= 0, got {value}")
        return build(spec, scale, device=args.device, acquisition=acquisition,
                     params={"clip": False} if spec == "bicubic" else None,
                     threads=args.threads if args.threads is not None else auto_threads(),
                     max_pixels=args.tile_pixels, ensemble=args.ensemble,
                     given=acquisition is not None,
                     # the gates answer an unknown input; a named acquisition gets its
                     # own model and projection, and the gates only when asked
                     gate=(args.gate if args.gate is not None else gates["gate"]),
                     flat=(args.flat_gate if args.flat_gate is not None else gates["flat"]),
                     keep_range=network)
    except ValueError as exc:  # e.g. a tile too small for the network's margin
        raise InputError(str(exc)) from exc


def _mode(inp: Path, out: Path, fmt: str) -> str:
    """``"file"``, ``"dicom"`` (one DICOM series to a derived series) or ``"folder"``."""
    from dnsp.data.io import NIFTI_SUFFIXES, is_dicom_file
    from dnsp.infer.upscale import find_inputs

    to_file = out.name.lower().endswith(NIFTI_SUFFIXES)
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


def _header(inp: Path) -> tuple[Any, tuple[int, ...]] | None:
    """``(affine, shape)`` from a volume file's header only (``None``: DICOM, folders)."""
    from dnsp.data.io import IMAGE_SUFFIXES

    if inp.is_dir() or not inp.name.lower().endswith(IMAGE_SUFFIXES):
        return None
    try:
        import nibabel as nib

        img = nib.load(str(inp))
        return img.affine, tuple(int(n) for n in img.shape[:3])
    except Exception:  # unreadable headers are reported by load_volume, with the reason
        return None


def _through_plane_refusals(args: argparse.Namespace, scale: int | None) -> None:
    """Options that ``--through-plane`` cannot honour, refused in one line each."""
    if args.plane != "auto":
        raise InputError("--plane is not an option of --through-plane (the thick axis is "
                         "found from the header)")
    if args.fmt == "dicom":
        raise InputError("--through-plane writes NIfTI: --format dicom is not available")
    if scale is None:
        for flag, value in (("--model", args.model), ("--method", args.method),
                            ("--ensemble", args.ensemble), ("--tile-pixels", args.tile_pixels),
                            ("--gate", args.gate), ("--flat-gate", args.flat_gate)):
            if value is not None:
                raise InputError(f"{flag} is for the in-plane step of --through-plane: give "
                                 "--scale too")
        if str(args.device) not in ("auto", "cpu"):
            raise InputError("--device is for the in-plane step of --through-plane (the "
                             "through-plane network runs on the CPU): give --scale too")


def build_request(args: argparse.Namespace) -> UpscaleRequest:
    """The :class:`~dnsp.infer.request.UpscaleRequest` of ``dnsp upscale`` (see the module
    docstring): arguments, then paths and outputs, then the header, then the method."""
    from dnsp.fsutil import ensure_distinct
    from dnsp.infer.request import UpscaleRequest
    from dnsp.infer.upscale import check_file_output, check_folder_output

    through = bool(args.through_plane)
    if args.input is None or args.output is None or (args.scale is None and not through):
        raise InputError("give IN, OUT and --scale (see dnsp upscale --help)")
    scale = None if args.scale is None else parse_scale(args.scale)
    check_method_arguments(args)
    acquisition = given_acquisition(args.acquisition, args.window, scale,
                                    through_plane=through)
    if through:
        _through_plane_refusals(args, scale)
    else:
        for dest, flag in _THROUGH_PLANE_ONLY.items():
            if getattr(args, dest) is not None:
                raise InputError(f"{flag} is an option of --through-plane")
    inp, out = Path(args.input), Path(args.output)
    if not inp.exists():
        raise InputError(f"input does not exist: {inp}")
    mode = "file" if through else _mode(inp, out, args.fmt)
    qc = None if args.qc is None else Path(args.qc)
    if mode == "folder":
        ensure_distinct(inp, out)
        check_folder_output(out, qc)
    else:  # before the model is loaded or the volume read
        check_file_output(inp, out, scale or 2, fmt=mode if mode == "dicom" else "nifti",
                          qc=qc, overwrite=args.overwrite)
    header = _header(inp) if mode != "folder" else None
    plane: Any = args.plane
    tp_options = None
    if through:
        from dnsp.infer.through_plane import check_in_plane_step, slice_geometry

        if header is not None:  # refuse a volume without a thick axis before any work
            (check_in_plane_step if scale is not None else slice_geometry)(*header)
        tp_options = ThroughPlaneOptions(
            target_spacing=args.target_spacing, thickness=args.slice_thickness,
            profile=args.profile, time_budget=args.time_budget,
            threads=args.threads if args.threads is not None else _auto_threads())
    elif header is not None:
        from dnsp.infer.volume import resolve_plane

        plane = resolve_plane(header[0], args.plane)
    method = None if scale is None else build_method(args, scale, acquisition)
    return UpscaleRequest(
        inp=inp, out=out, mode=mode, method=method, scale=scale, plane=plane,
        acquisition=acquisition, dtype=args.dtype,
        fmt="dicom" if mode == "dicom" or (mode == "folder" and args.fmt == "dicom")
        else "nifti", qc=qc, overwrite=args.overwrite, progress=args.progress,
        through_plane=tp_options)


def _auto_threads() -> int:
    from dnsp.methods.tiling import auto_threads

    return auto_threads()
