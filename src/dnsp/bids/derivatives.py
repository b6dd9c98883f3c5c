"""BIDS-derivatives output: file names, ``dataset_description.json``, JSON sidecars.

Names follow the derivatives specification (BIDS 1.10, "Common data types and metadata"):
the source file's entities, then ``res-<label>`` (the output is on a new voxel grid; the
sidecar's ``Resolution`` field says which) and ``desc-<label>`` (which processing), in the
specification's entity order, then the source suffix::

    sub-01/ses-1/anat/sub-01_ses-1_T1w.nii.gz
    -> sub-01/ses-1/anat/sub-01_ses-1_res-x2_desc-dnsp_T1w.nii.gz   (+ .json sidecar)

Provenance: ``Sources`` holds a BIDS URI ``bids:raw:<path in the source dataset>``; the
dataset's ``DatasetLinks`` maps ``raw`` to the source dataset (a relative path when the
output lies inside it, as in ``<bids_dir>/derivatives/dnsp``, else its ``file://`` URI);
``SourceDatasets`` gives its ``file://`` URI (and its ``DatasetDOI`` when it has one).
Everything in ``dataset_description.json`` depends only on the command's arguments, so every
shard of a job array writes the same bytes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from dnsp import __version__
from dnsp.bids.layout import BidsImage
from dnsp.data.io import image_stem
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path

__all__ = [
    "BIDS_VERSION",
    "ENTITY_ORDER",
    "dataset_description",
    "derivative_name",
    "qc_name",
    "sidecar_name",
    "write_dataset_description",
    "write_json",
]

#: BIDS version the output follows.
BIDS_VERSION = "1.10.0"
#: Entity order of the BIDS specification (appendix "Entity table").
ENTITY_ORDER = (
    "sub", "ses", "sample", "task", "tracksys", "acq", "nuc", "voi", "ce", "trc", "stain",
    "rec", "dir", "run", "mod", "echo", "flip", "inv", "mt", "part", "proc", "hemi", "space",
    "split", "recording", "chunk", "atlas", "seg", "scale", "res", "den", "label", "desc",
)
_LABEL = re.compile(r"^[A-Za-z0-9]+$")


def _order(key: str) -> float:
    # unknown keys (future entities) keep their place just before the derivative ones
    return ENTITY_ORDER.index(key) if key in ENTITY_ORDER else ENTITY_ORDER.index("chunk") + 0.5


def derivative_name(image: BidsImage, res: str, desc: str) -> Path:
    """Relative path of the derivative of ``image`` (``.nii.gz``; the sidecar swaps to ``.json``).

    Args:
        image: The source image.
        res: Label of the ``res-`` entity (e.g. ``x2``).
        desc: Label of the ``desc-`` entity (e.g. ``dnsp``).

    Raises:
        InputError: A label that is not alphanumeric.
    """
    for key, label in (("res", res), ("desc", desc)):
        if not _LABEL.match(label):
            raise InputError(f"the {key}- label must be letters and digits only, got {label!r}")
    ent = {k: v for k, v in image.entities if k not in ("res", "desc")}
    ent["res"], ent["desc"] = res, desc
    keys = sorted(ent, key=_order)  # stable: source order kept among unknown keys
    stem = "_".join(f"{k}-{ent[k]}" for k in keys) + f"_{image.suffix}"
    return image.rel.parent / f"{stem}.nii.gz"


def qc_name(output_rel: Path) -> Path:
    """Relative path of the QC thumbnail of an output: ``sub-<label>/figures/<stem>_qc.png``."""
    stem = image_stem(output_rel.name) or output_rel.name
    return Path(output_rel.parts[0]) / "figures" / f"{stem}_qc.png"


def sidecar_name(output_rel: Path) -> Path:
    """The JSON sidecar beside an output ``.nii.gz``."""
    return output_rel.with_name((image_stem(output_rel.name) or output_rel.name) + ".json")


def _source_link(source_root: Path, output_root: Path) -> str:
    src, out = source_root.resolve(), output_root.resolve()
    if out.is_relative_to(src):
        return Path(os.path.relpath(src, out)).as_posix() + "/"
    return src.as_uri()


def dataset_description(
    source: dict[str, Any],
    source_root: str | os.PathLike[str],
    output_root: str | os.PathLike[str],
    summary: str,
) -> dict[str, Any]:
    """Content of the derivative dataset's ``dataset_description.json``.

    Args:
        source: The source dataset's description (its ``Name`` and ``DatasetDOI`` are used).
        source_root: The source dataset folder.
        output_root: The derivative dataset folder.
        summary: One line for ``GeneratedBy[0].Description`` (method, model, scale).

    Returns:
        A JSON-ready dict with ``Name``, ``BIDSVersion``, ``DatasetType`` = ``derivative``,
        ``GeneratedBy``, ``SourceDatasets`` and ``DatasetLinks``.
    """
    link = _source_link(Path(source_root), Path(output_root))
    origin: dict[str, str] = {"URL": Path(source_root).resolve().as_uri()}
    doi = source.get("DatasetDOI")
    if isinstance(doi, str) and doi:
        origin["DOI"] = doi
    name = source.get("Name") if isinstance(source.get("Name"), str) else Path(
        source_root).resolve().name
    return {
        "Name": f"dnsp super-resolution of {name}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [{
            "Name": "dnsp",
            "Version": __version__,
            "Description": summary,
        }],
        "SourceDatasets": [origin],
        "DatasetLinks": {"raw": link},
    }


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON (no NaN/Infinity) atomically."""
    out = Path(path)
    text = _dumps(obj)
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


def write_dataset_description(output_root: str | os.PathLike[str],
                              content: dict[str, Any]) -> bool:
    """Write ``dataset_description.json`` unless the same content is already there.

    Concurrent shards compute identical content and write it atomically, so whichever comes
    first (or last) leaves the same complete file.

    Returns:
        ``True`` if the file was written, ``False`` if it already held ``content``.

    Raises:
        InputError: The folder holds a description of another run (other method, model,
            scale or source): outputs of different runs must go to different folders.
    """
    path = Path(output_root) / "dataset_description.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            old = None
        if old == content:
            return False
        what = "cannot be read" if old is None else f"describes another run ({_summary_of(old)})"
        raise InputError(f"{path} {what}; use another OUTPUT_DIR for this method, model or "
                         "source dataset")
    write_json(path, content)
    return True


def _summary_of(desc: dict[str, Any]) -> str:
    try:
        return str(desc["GeneratedBy"][0]["Description"])
    except (KeyError, IndexError, TypeError):
        return "not written by dnsp"
