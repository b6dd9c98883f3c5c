"""What ``dnsp upscale`` writes: output data types, and output paths checked before any work.

* :func:`check_output_folder` refuses, in well under a second and before any model is loaded
  or volume read, an output folder that does not exist, is not a folder, cannot be written
  (tried by creating and removing a file: permission bits say nothing under ``/sys`` or
  ``/proc``, nor on a read-only mount), or lacks the free space of the expected output.
* :func:`output_type` and :func:`cast_output` implement ``--dtype``: ``same`` keeps the
  input's integer type and its ``scl_slope``/``scl_inter`` (float inputs, DICOM and other
  inputs without a NIfTI header give float32); ``float32``; ``int16`` and ``uint8`` (with the
  input's scaling when it has one). Integer outputs are rounded to the nearest stored value
  and clipped to the type's range; the number of clipped voxels is reported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from dnsp.data.io import Volume
from dnsp.errors import InputError

__all__ = [
    "OUTPUT_DTYPES",
    "OutputType",
    "cast_output",
    "check_output_folder",
    "expected_output_bytes",
    "output_type",
    "stored_parts",
]

#: Values of ``--dtype``.
OUTPUT_DTYPES = ("same", "float32", "int16", "uint8")
#: Fraction of the uncompressed size a ``.nii.gz`` output is assumed to need (MR volumes
#: compress 2-4x; the check must not refuse outputs that fit).
GZIP_FRACTION = 0.5


def check_output_folder(folder: str | os.PathLike[str], need_bytes: int = 0) -> Path:
    """Refuse an output folder that cannot take an output of ``need_bytes`` bytes.

    Args:
        folder: The folder the output (or the temporary file before its rename) goes in.
        need_bytes: Expected size of what will be written there.

    Returns:
        The folder.

    Raises:
        InputError: One line: the folder is missing, not a folder, not writable (a file
            cannot be created and removed in it), or has less free space than needed.
    """
    path = Path(folder) if str(folder) else Path(".")
    if not path.exists():
        raise InputError(f"output folder does not exist: {path}")
    if not path.is_dir():
        raise InputError(f"output folder path is not a folder: {path}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".dnsp-write-test.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"output folder is not writable: {path} "
                         f"({exc.strerror or type(exc).__name__})") from None
    if need_bytes > 0:
        try:
            free = shutil.disk_usage(path).free
        except OSError:  # pragma: no cover - a folder we could write in but not stat
            return path
        if free < need_bytes:
            raise InputError(f"not enough free space in {path}: the output needs about "
                             f"{_size(need_bytes)}, {_size(free)} free")
    return path


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"  # pragma: no cover


def expected_output_bytes(shape: tuple[int, ...], scale: int, itemsize: int,
                          compressed: bool) -> int:
    """Bytes an output of a volume of ``shape`` upscaled by ``scale`` in one plane takes."""
    voxels = int(np.prod([int(n) for n in shape], dtype=np.int64)) * int(scale) ** 2
    raw = voxels * int(itemsize) + 352
    return int(raw * GZIP_FRACTION) if compressed else raw


@dataclass(frozen=True)
class OutputType:
    """The stored type of an output and the scaling of its stored values.

    Attributes:
        dtype: On-disk data type.
        slope: ``scl_slope`` of integer outputs (value = stored * slope + inter).
        inter: ``scl_inter``.
    """

    dtype: np.dtype
    slope: float = 1.0
    inter: float = 0.0

    @property
    def is_integer(self) -> bool:
        """Whether values are rounded and clipped."""
        return bool(np.issubdtype(self.dtype, np.integer))

    def describe(self) -> str:
        """``int16`` or ``uint8 (scl_slope 0.5, scl_inter 10)``."""
        if self.is_integer and (self.slope != 1.0 or self.inter != 0.0):
            return f"{self.dtype.name} (scl_slope {self.slope:g}, scl_inter {self.inter:g})"
        return self.dtype.name


def _input_type(like: Volume | None) -> tuple[np.dtype | None, float, float]:
    """On-disk type and scaling of a volume read from a NIfTI/Analyze/MGH header."""
    header = None if like is None else like.header
    if header is None or not hasattr(header, "get_data_dtype"):
        return None, 1.0, 0.0
    dtype = np.dtype(header.get_data_dtype())
    slope, inter = 1.0, 0.0
    s, i = header.get_slope_inter() if hasattr(header, "get_slope_inter") else (None, None)
    if (s is None or i is None) and like is not None and like.path is not None \
            and Path(like.path).is_file():
        # nibabel moves the scaling of a loaded image from its header to its data proxy
        try:
            proxy = nib.load(str(like.path)).dataobj
            s, i = getattr(proxy, "slope", s), getattr(proxy, "inter", i)
        except Exception:  # the volume was read already: keep the header's answer
            pass
    if s is not None and np.isfinite(s) and s != 0:
        slope = float(s)
    if i is not None and np.isfinite(i):
        inter = float(i)
    return dtype, slope, inter


def output_type(requested: str, like: Volume | None) -> OutputType:
    """The :class:`OutputType` of ``--dtype requested`` for an input volume ``like``.

    Raises:
        InputError: For a value not in :data:`OUTPUT_DTYPES`.
    """
    name = str(requested).lower()
    if name not in OUTPUT_DTYPES:
        raise InputError(f"unknown --dtype {requested!r}; valid: {', '.join(OUTPUT_DTYPES)}")
    if name == "float32":
        return OutputType(np.dtype(np.float32))
    src, slope, inter = _input_type(like)
    if name == "same":
        if src is None or not np.issubdtype(src, np.integer):
            return OutputType(np.dtype(np.float32))
        return OutputType(src.newbyteorder("="), slope, inter)
    scaled = src is not None and np.issubdtype(src, np.integer)
    return OutputType(np.dtype(name), slope if scaled else 1.0, inter if scaled else 0.0)


def cast_output(data: np.ndarray, kind: OutputType) -> tuple[np.ndarray, int]:
    """``(stored values, number of clipped voxels)`` of ``data`` for the output type.

    Float outputs are ``data`` as float32 (nothing clipped). Integer outputs store
    ``round((data - inter) / slope)`` clipped to the type's range.
    """
    if not kind.is_integer:
        return np.asarray(data, dtype=np.float32), 0
    info = np.iinfo(kind.dtype)
    out = np.empty(np.shape(data), dtype=kind.dtype)
    clipped = 0
    flat_in = np.asarray(data).reshape(-1)
    flat_out = out.reshape(-1)
    step = 1 << 22  # bounded temporary memory for large volumes
    for start in range(0, flat_in.size, step):
        block = flat_in[start:start + step].astype(np.float64)
        if kind.slope != 1.0 or kind.inter != 0.0:
            block = (block - kind.inter) / kind.slope
        block = np.rint(block)
        bad = (block < info.min) | (block > info.max)
        clipped += int(np.count_nonzero(bad))
        np.clip(block, info.min, info.max, out=block)
        flat_out[start:start + step] = block.astype(kind.dtype)
    return out, clipped


def stored_parts(stored: str, clipped: int, integer: bool, qc: Path | None) -> list[str]:
    """The end of a per-file line: the stored type, the voxels clipped to an integer type's
    range, and the QC picture written (``dnsp upscale``, with or without ``--through-plane``)."""
    why = (" (sharpened values beyond what the input's type holds; --dtype float32 keeps "
           "them)" if clipped else "")
    parts = [stored + (f", {clipped} voxel(s) clipped to its range{why}" if integer else "")]
    if qc is not None:
        parts.append(f"QC {qc}")
    return parts
