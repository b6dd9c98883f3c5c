"""One upscale request, decided once at the boundary, and its run (:func:`run_request`).

The command line (:mod:`dnsp.cli._request`) turns the arguments and the input's header into
an :class:`UpscaleRequest`: input and output (checked), the mode (one file, a DICOM series
out, a folder), the scale, the plane (decided from the header for a single file), the
acquisition (given, or ``None``: estimated once per volume), the method (built), the output
type and format, the QC picture, the overwrite rule and, for thick-slice scans, the
:class:`ThroughPlaneOptions`. Every check is made there, each error one line, before any
work. ``dnsp upscale``, ``dnsp upscale --through-plane`` and ``dnsp bids`` share it.

:func:`dnsp.infer.run.run_request` runs a request and never re-checks or re-decides what it
holds; it returns what happened and prints nothing: the command line words it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing only: this module stays light (the command line imports it)
    from dnsp.acquisition import Acquisition
    from dnsp.data.orientation import PlaneChoice
    from dnsp.methods import SRMethod

__all__ = ["DEFAULT_PROFILE", "DEFAULT_TIME_BUDGET", "MODES", "ThroughPlaneOptions",
           "UpscaleRequest"]

#: What a request writes: one NIfTI file, a derived DICOM series, or a mirrored folder.
MODES = ("file", "dicom", "folder")
#: Seconds of per-volume adaptation of the through-plane network by default.
DEFAULT_TIME_BUDGET = 120.0
#: Slice profile assumed when none is given: ``rect`` is the safer guess (docs/through_plane.md:
#: a Gaussian scan restored as rect loses 0.7-0.85 dB of gain, still +1.5 dB over B-spline; a
#: rect scan restored as Gaussian loses 0.9-1.3 dB, leaving +0.4 to +0.9 dB).
DEFAULT_PROFILE = "rect"


@dataclass(frozen=True)
class ThroughPlaneOptions:
    """How the thick slice axis is restored (``--through-plane``; docs/through_plane.md).

    Attributes:
        target_spacing: Output spacing along the slice axis, mm (``None``: in-plane).
        thickness: Slice thickness, mm (``None``: the DICOM header's, else the spacing).
        profile: ``rect``, ``gaussian`` or a profile file (``None``: :data:`DEFAULT_PROFILE`).
        time_budget: Seconds of adaptation of the network to the volume.
        threads: Torch threads of the network.
    """

    target_spacing: float | None = None
    thickness: float | None = None
    profile: str | None = None
    time_budget: float = DEFAULT_TIME_BUDGET
    threads: int | None = None


@dataclass(frozen=True)
class UpscaleRequest:
    """Everything one ``dnsp upscale`` run does, checked and decided once (module docs).

    Attributes:
        inp: The input file, DICOM series folder or folder of volumes.
        out: The output file, DICOM series folder or output folder.
        mode: One of :data:`MODES`.
        method: The in-plane SR method (``None`` for ``--through-plane`` without a scale).
        scale: The in-plane factor (``None`` for ``--through-plane`` without a scale).
        plane: ``auto`` or a forced plane (folders: decided per volume), or the
            :class:`~dnsp.data.orientation.PlaneChoice` decided from a single file's header.
        acquisition: The input's acquisition when given (``None``: estimated per volume).
        dtype: NIfTI output type (:data:`dnsp.infer.outputs.OUTPUT_DTYPES`).
        fmt: ``nifti`` or ``dicom`` (a single DICOM series out; in folder mode, DICOM
            series become series folders).
        qc: The QC picture (a ``.png`` file; in folder mode a folder of them).
        overwrite: Replace existing outputs (else a single existing output was refused when
            the request was built, and a folder's finished outputs are skipped).
        progress: Progress bars (``None``: on a terminal).
        through_plane: The thick-slice options, or ``None`` for in-plane upscaling only.
    """

    inp: Path
    out: Path
    mode: str
    method: SRMethod | None
    scale: int | None
    plane: str | PlaneChoice = "auto"
    acquisition: Acquisition | None = None
    dtype: str = "same"
    fmt: str = "nifti"
    qc: Path | None = None
    overwrite: bool = False
    progress: bool | None = None
    through_plane: ThroughPlaneOptions | None = None

    @property
    def method_name(self) -> str:
        """The name the method reports (``through-plane`` when there is none)."""
        return str(getattr(self.method, "name", "through-plane"))

    @property
    def method_why(self) -> str:
        """Why this method serves this input, for the per-file line ("" for a method asked
        for by name): the model of a named acquisition, or the robust default."""
        projector = getattr(self.method, "projector", None)
        gates = str(getattr(self.method, "gates", "") or "")
        gated = f", {gates}" if gates else ""
        if projector is not None:
            return (f" (the model for the named acquisition {projector.name}, projected onto "
                    f"its data{gated})")
        if self.acquisition is None and gated:
            return f" (robust default: the acquisition is estimated{gated})"
        return ""
