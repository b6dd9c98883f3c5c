"""The participant level of the dnsp BIDS App: plan (no writes), then run one shard.

:func:`plan_run` reads the dataset, applies the label, session and suffix filters and the
``--shard I/N`` partition, and checks every argument; it writes nothing, so every bad input
is reported before the output folder is touched. :func:`run_plan` then upscales each image
of the shard with :func:`dnsp.infer.upscale.upscale_file`, and writes beside each output its
JSON sidecar (last, so that a sidecar marks a finished output), its QC thumbnail
(:func:`dnsp.infer.qc.qc_figure`), and finally the run's HTML summary
(:mod:`dnsp.bids.summary`). Finished outputs are skipped on a rerun. Shards own disjoint
participant sets, so two shards never write the same output file; the one file they share,
``dataset_description.json``, has the same content in every shard and is written atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dnsp import __version__
from dnsp.bids.derivatives import (
    dataset_description,
    derivative_name,
    qc_name,
    sidecar_name,
    write_dataset_description,
    write_json,
)
from dnsp.bids.layout import (
    DEFAULT_SUFFIXES,
    BidsImage,
    find_images,
    list_participants,
    normalise_labels,
    read_dataset_description,
    shard_labels,
)
from dnsp.bids.records import BidsPlan, OutputRecord
from dnsp.bids.summary import write_summary
from dnsp.data.io import load_volume, voxel_sizes
from dnsp.errors import InputError
from dnsp.fsutil import ensure_distinct
from dnsp.infer.qc import qc_figure
from dnsp.infer.request import UpscaleRequest
from dnsp.infer.upscale import FileReport, upscale_file

__all__ = ["BidsPlan", "OutputRecord", "plan_run", "run_plan"]

CONSISTENCY_NOTE = ("PSNR (dB) of the output degraded again by the assumed acquisition against "
                    "the source image, over the source's intensity range (null: exact)")


def _check_output_folder(bids_dir: Path, output_dir: Path) -> None:
    ensure_distinct(bids_dir, output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"OUTPUT_DIR exists and is not a folder: {output_dir}")
    probe = output_dir
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"output folder is not writable: {probe}")
    if bids_dir.resolve().is_relative_to(output_dir.resolve()):
        raise InputError(f"OUTPUT_DIR must not contain BIDS_DIR: {output_dir}")


def plan_run(
    bids_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    participant_labels: Sequence[str] | None = None,
    session_labels: Sequence[str] | None = None,
    suffixes: Sequence[str] = DEFAULT_SUFFIXES,
    shard: tuple[int, int] = (1, 1),
) -> BidsPlan:
    """Select the images of one shard and check the arguments, writing nothing.

    Args:
        bids_dir: Raw BIDS dataset (with ``dataset_description.json``).
        output_dir: Derivative dataset folder (created by :func:`run_plan`).
        participant_labels: Labels with or without ``sub-`` (``None``: every participant).
        session_labels: Labels with or without ``ses-`` (``None``: all).
        suffixes: BIDS suffixes to process.
        shard: ``(I, N)``, this process's share of the sorted participants.

    Raises:
        InputError: Not a BIDS dataset, unknown participant labels, no matching image in the
            whole selection, bad labels or shard, or an unusable output folder.
    """
    src, out = Path(bids_dir), Path(output_dir)
    description = read_dataset_description(src)
    _check_output_folder(src, out)
    index, count = shard
    shard_labels([], index, count)  # validates the shard
    available = list_participants(src)
    wanted = normalise_labels(participant_labels, "sub")
    if wanted is not None:
        missing = sorted(set(wanted) - set(available))
        if missing:
            raise InputError(f"participant(s) not found in {src}: "
                             f"{', '.join('sub-' + m for m in missing)}")
        participants = wanted
    else:
        participants = available
    if not participants:
        raise InputError(f"no sub-<label> folders in {src}")
    sessions = normalise_labels(session_labels, "ses")
    suffix_list = list(dict.fromkeys(suffixes))
    if not suffix_list:
        raise InputError("--suffix needs at least one suffix")
    all_images = find_images(src, participants, sessions, suffix_list)
    if not all_images:
        what = f"suffix {'/'.join(suffix_list)}"
        if sessions is not None:
            what += f", session(s) {', '.join(sessions)}"
        raise InputError(f"no anat/*.nii[.gz] images with {what} for {len(participants)} "
                         f"participant(s) in {src}")
    mine = shard_labels(participants, index, count)
    keep = set(mine)
    return BidsPlan(bids_dir=src, output_dir=out, source_description=description,
                    participants=participants, shard=(index, count), shard_participants=mine,
                    images=[im for im in all_images if im.subject in keep],
                    n_images=len(all_images))


def _round(values: Any) -> list[float]:
    return [round(float(v), 6) for v in values]


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return content if isinstance(content, dict) else {}


def _record_from_sidecar(image: BidsImage, out_rel: Path, side: dict[str, Any]
                         ) -> OutputRecord:
    qc = side.get("QCFigure")
    return OutputRecord(
        source=image.uri_path, output=out_rel, status="skipped", subject=image.subject,
        session=image.session, suffix=image.suffix, seconds=side.get("UpscaleSeconds"),
        consistency=side.get("ConsistencyPSNR"), qc=Path(qc) if isinstance(qc, str) else None,
        input_voxel=side.get("InputVoxelSize", []), output_voxel=side.get("OutputVoxelSize", []))


@dataclass
class _Settings:
    request: UpscaleRequest
    scale: int
    desc: str
    model: str | None
    qc: bool

    @property
    def method(self) -> Any:
        return self.request.method


def _process(plan: BidsPlan, image: BidsImage, out_rel: Path, st: _Settings) -> OutputRecord:
    root = plan.output_dir
    start = time.perf_counter()
    req = st.request
    reports: list[FileReport] = []
    upscale_file(image.path, root / out_rel, req.method, st.scale, progress=req.progress,
                 acquisition=req.acquisition, plane=req.plane, dtype=req.dtype,
                 report=reports.append)
    up_seconds = time.perf_counter() - start
    lr, hr = load_volume(image.path), load_volume(root / out_rel)
    psnr, plane = reports[0].consistency_db, reports[0].plane
    qc_rel = qc_name(out_rel) if st.qc else None
    if qc_rel is not None:
        (root / qc_rel).parent.mkdir(parents=True, exist_ok=True)
        qc_figure(lr.data, lr.affine, hr.data, hr.affine, root / qc_rel,
                  title=f"{out_rel.name} ({_method_label(st)})")
    lr_vox, hr_vox = _round(voxel_sizes(lr.affine)), _round(voxel_sizes(hr.affine))
    consistency = None if not np.isfinite(psnr) else round(psnr, 3)
    sidecar = {
        "Description": f"In-plane ({plane.plane if plane else 'axial'}) super-resolution "
                       f"x{st.scale} of the source image by dnsp {__version__} "
                       f"({_method_label(st)})",
        "Sources": [f"bids:raw:{image.uri_path}"],
        "Resolution": (f"source grid with both in-plane axes sampled {st.scale} times "
                       f"more finely: voxel size {' x '.join(f'{v:g}' for v in hr_vox)} mm "
                       f"(source {' x '.join(f'{v:g}' for v in lr_vox)} mm)"),
        "SoftwareName": "dnsp",
        "SoftwareVersion": __version__,
        "Method": "network" if st.model else str(getattr(st.method, "name", "unknown")),
        "Model": st.model,
        "Scale": st.scale,
        "Ensemble": getattr(st.method, "ensemble", None),
        "AcquisitionAssumed": reports[0].acquisition.to_config(),
        "AcquisitionHow": reports[0].how,
        "ConsistencyPSNR": consistency,
        "ConsistencyDescription": CONSISTENCY_NOTE,
        "ServedBy": reports[0].served or None,
        "TextureVsBicubic": (None if reports[0].texture is None
                             else round(reports[0].texture, 3)),
        "TextureDescription": ("texture the output invents beyond the source's band over the "
                               "dominant flat tissue, as a multiple of bicubic interpolation's "
                               "(8 middle slices; dnsp.infer.assess.texture_vs_bicubic)"),
        "InputShape": [int(n) for n in lr.data.shape],
        "InputVoxelSize": lr_vox,
        "OutputShape": [int(n) for n in hr.data.shape],
        "OutputVoxelSize": hr_vox,
        "QCFigure": qc_rel.as_posix() if qc_rel is not None else None,
        "UpscaleSeconds": round(up_seconds, 3),
        "TotalSeconds": round(time.perf_counter() - start, 3),
    }
    write_json(root / sidecar_name(out_rel), sidecar)
    return OutputRecord(source=image.uri_path, output=out_rel, status="written",
                        subject=image.subject, session=image.session, suffix=image.suffix,
                        seconds=sidecar["UpscaleSeconds"], consistency=consistency, qc=qc_rel,
                        input_voxel=lr_vox, output_voxel=hr_vox)


def _method_label(st: _Settings) -> str:
    return f"model {st.model}" if st.model else f"method {getattr(st.method, 'name', '?')}"


def run_plan(
    plan: BidsPlan,
    request: UpscaleRequest,
    *,
    model: str | None = None,
    desc: str | None = None,
    qc: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[OutputRecord]:
    """Upscale this shard's images into the derivative dataset; write the HTML summary.

    Args:
        plan: From :func:`plan_run`.
        request: The upscale request of ``dnsp bids`` (the one of ``dnsp upscale``, with
            ``mode="folder"``): method, scale, plane, acquisition, output type, overwrite
            (redo finished outputs; default: skip them), progress bars.
        model: The network model's name (``None`` for a model-based method).
        desc: Label of the ``desc-`` entity (default ``dnsp`` for a network, else the
            method's name).
        qc: Write a QC thumbnail per output.
        log: Called with one line per output.

    Returns:
        One :class:`OutputRecord` per image of the shard, in path order. An image that fails
        (unreadable, not 3-D, ...) gets a ``failed`` record; the others go on.

    Raises:
        InputError: The output folder holds another run's ``dataset_description.json``.
    """
    if request.method is None or request.scale is None:
        raise ValueError("a BIDS run needs an in-plane method and scale")
    label = desc or ("dnsp" if model else request.method_name)
    st = _Settings(request=request, scale=request.scale, desc=label, model=model, qc=qc)
    overwrite = request.overwrite
    say = log or (lambda _line: None)
    names = [derivative_name(im, f"x{st.scale}", label) for im in plan.images]
    if not plan.images:
        return []
    summary = f"in-plane super-resolution x{st.scale}, {_method_label(st)}, desc-{label}"
    content = dataset_description(plan.source_description, plan.bids_dir, plan.output_dir,
                                  summary)
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    write_dataset_description(plan.output_dir, content)
    records = []
    for image, out_rel in zip(plan.images, names, strict=True):
        out, side = plan.output_dir / out_rel, plan.output_dir / sidecar_name(out_rel)
        if out.is_file() and side.is_file() and not overwrite:
            records.append(_record_from_sidecar(image, out_rel, _read_sidecar(side)))
            say(f"skipped (finished): {out_rel.as_posix()}")
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            rec = _process(plan, image, out_rel, st)
        except InputError as exc:
            records.append(OutputRecord(source=image.uri_path, output=out_rel, status="failed",
                                        subject=image.subject, session=image.session,
                                        suffix=image.suffix, error=str(exc)))
            say(f"failed: {image.uri_path}: {exc}")
            continue
        records.append(rec)
        cons = "exact" if rec.consistency is None else f"{rec.consistency:.1f} dB"
        say(f"written: {out_rel.as_posix()} ({rec.seconds:.1f} s, consistency {cons})")
    write_summary(plan, records, summary)
    return records
