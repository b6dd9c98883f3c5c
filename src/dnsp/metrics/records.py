"""Per-slice evaluation of a stack and the per-image CSV of SPEC section 6.

One :class:`SliceRecord` per 2-D slice: the whole-slice and the brain-masked PSNR/SSIM of a
method's output against the HR reference, keyed by (method, dataset, scale, subject, slice).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from dnsp.fsutil import atomic_path
from dnsp.metrics.image import brain_mask, psnr, ssim

__all__ = ["CSV_COLUMNS", "SliceRecord", "evaluate_slices", "read_records_csv", "write_records_csv"]


@dataclass(frozen=True)
class SliceRecord:
    """Metrics of one slice. ``psnr`` in dB (``inf`` for a perfect slice); brain values are NaN
    when the slice's mask is empty."""

    method: str
    dataset: str
    scale: int
    subject: str
    slice: int
    psnr: float
    ssim: float
    psnr_brain: float
    ssim_brain: float


#: Column order of the per-image CSV.
CSV_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SliceRecord))


def evaluate_slices(
    pred: np.ndarray,
    hr: np.ndarray,
    *,
    method: str,
    dataset: str,
    scale: int,
    subject: str,
    slices: Sequence[int] | None = None,
    data_range: float = 1.0,
    crop: int = 0,
    mask: np.ndarray | None = None,
    mask_threshold: float = 0.05,
    clip: bool = True,
) -> list[SliceRecord]:
    """PSNR/SSIM, whole and brain-masked, of every slice of a stack (SPEC section 6).

    Args:
        pred: Method output (N, H, W) on the [0, 1] scale.
        hr: HR reference (N, H, W) on the same scale.
        method, dataset, scale, subject: Keys written into every record.
        slices: Slice indices to record (default 0..N-1), e.g. the slice numbers in the volume.
        data_range: Intensity range (1 on the SPEC scale).
        crop: Border pixels removed before every metric.
        mask: Boolean brain mask (N, H, W); default ``brain_mask(hr, mask_threshold)``.
        mask_threshold: Threshold of the default mask.
        clip: Clip ``pred`` to [0, data_range] first, as a displayed/saved output would be.

    Returns:
        One record per slice, in stack order.

    Raises:
        ValueError: On mismatched shapes or bad arguments.
    """
    p = np.asarray(pred, dtype=np.float64)
    h = np.asarray(hr, dtype=np.float64)
    if p.ndim != 3 or p.shape != h.shape:
        raise ValueError(f"pred and hr must be (N, H, W) of one shape, got {p.shape}, {h.shape}")
    n = p.shape[0]
    idx = list(range(n)) if slices is None else [int(s) for s in slices]
    if len(idx) != n:
        raise ValueError(f"{len(idx)} slice indices given for {n} slices")
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    m = brain_mask(h, mask_threshold) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != h.shape:
        raise ValueError(f"mask shape {m.shape} differs from hr shape {h.shape}")
    if clip:
        p = np.clip(p, 0.0, data_range)
    out: list[SliceRecord] = []
    for k in range(n):
        mk = m[k]
        inner = mk[crop : mk.shape[0] - crop, crop : mk.shape[1] - crop] if crop else mk
        has_brain = bool(inner.any())
        try:
            s_brain = ssim(p[k], h[k], data_range, mask=mk, crop=crop) if has_brain else math.nan
        except ValueError:  # mask lies only in the SSIM border band
            s_brain = math.nan
        out.append(
            SliceRecord(
                method=str(method),
                dataset=str(dataset),
                scale=int(scale),
                subject=str(subject),
                slice=idx[k],
                psnr=psnr(p[k], h[k], data_range, crop=crop),
                ssim=ssim(p[k], h[k], data_range, crop=crop),
                psnr_brain=psnr(p[k], h[k], data_range, mask=mk, crop=crop)
                if has_brain
                else math.nan,
                ssim_brain=s_brain,
            )
        )
    return out


def write_records_csv(
    records: Iterable[SliceRecord], path: str | os.PathLike[str], *, append: bool = False
) -> None:
    """Write records as CSV with :data:`CSV_COLUMNS` (atomically).

    Args:
        records: The records.
        path: Output CSV file.
        append: Keep the rows already in ``path`` (if it exists) and add these after them.
    """
    rows = [asdict(r) for r in records]
    if append and os.path.exists(path):
        rows = [asdict(r) for r in read_records_csv(path)] + rows
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        w.writeheader()
        for row in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})


def read_records_csv(path: str | os.PathLike[str]) -> list[SliceRecord]:
    """Read a CSV written by :func:`write_records_csv` back into records.

    Raises:
        ValueError: If a column of :data:`CSV_COLUMNS` is missing.
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}")
        return [
            SliceRecord(
                method=row["method"],
                dataset=row["dataset"],
                scale=int(row["scale"]),
                subject=row["subject"],
                slice=int(row["slice"]),
                psnr=float(row["psnr"]),
                ssim=float(row["ssim"]),
                psnr_brain=float(row["psnr_brain"]),
                ssim_brain=float(row["ssim_brain"]),
            )
            for row in reader
        ]
