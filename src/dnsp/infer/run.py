"""Run an upscale request (:class:`dnsp.infer.request.UpscaleRequest`): one file, a DICOM
series, a folder, or a thick-slice scan; what happened comes back, nothing is printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dnsp.infer.request import UpscaleRequest
from dnsp.infer.through_plane import ThroughPlaneReport, through_plane_file
from dnsp.infer.upscale import FolderResult, upscale_folder
from dnsp.infer.upscale_one import FileReport, upscale_checked

__all__ = ["RequestOutcome", "run_request"]


@dataclass
class RequestOutcome:
    """What :func:`run_request` did: one of its fields is set, by mode.

    Attributes:
        file: The per-file report of a single input.
        folder: The outcome of folder mode.
        through_plane: The report of a through-plane run.
    """

    file: FileReport | None = None
    folder: FolderResult | None = None
    through_plane: ThroughPlaneReport | None = None


def run_request(request: UpscaleRequest,
                log: Callable[[str], None] | None = None) -> RequestOutcome:
    """Run a request built (and checked) by the command line.

    Args:
        request: The :class:`UpscaleRequest`.
        log: Folder mode: called with one line per volume.

    Returns:
        The :class:`RequestOutcome`.

    Raises:
        InputError: What only the data can tell (an unreadable volume, too little space for
            its output, a volume with no thick axis for ``--through-plane``), in one line.
    """
    if request.through_plane is not None:
        return RequestOutcome(through_plane=through_plane_file(request))
    if request.method is None or request.scale is None:
        raise ValueError("an in-plane request needs a method and a scale")
    if request.mode == "folder":
        return RequestOutcome(folder=upscale_folder(
            request.inp, request.out, request.method, request.scale,
            overwrite=request.overwrite, progress=request.progress, log=log,
            acquisition=request.acquisition, plane=request.plane, dtype=request.dtype,
            fmt=request.fmt, qc=request.qc, checked=True))
    reports: list[FileReport] = []
    upscale_checked(request.inp, request.out, request.method, request.scale,
                    progress=request.progress, acquisition=request.acquisition,
                    report=reports.append, plane=request.plane, dtype=request.dtype,
                    fmt=request.fmt, qc=request.qc)
    return RequestOutcome(file=reports[0])
