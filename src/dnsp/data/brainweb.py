"""BrainWeb volumes: raw ``.rawb``/``.raws`` reader and a downloader (paper Sec. IV-A, BW data).

BrainWeb (https://brainweb.bic.mni.mcgill.ca/brainweb/; Collins et al. 1998, Kwan et al. 1999)
serves volumes through a CGI form (``/cgi/brainweb1``). Raw downloads hold the voxels with x
(left to right) varying fastest, then y (posterior to anterior), then z (inferior to
superior): ``raw_byte`` as unsigned 8-bit (``.rawb``), ``raw_short`` as big-endian unsigned
16-bit (``.raws``), optionally gzip-compressed.

Grids (voxel counts identify them; all RAS, 1 mm unless stated):

* SBD normal phantom (``T1+ICBM+normal+1mm+pn3+rf20`` and its siblings): 181 x 217 x 181,
  first voxel at (-90, -126, -72) mm, the grid of the NIfTI conversion in ``../shared/data``.
* The 20 normal anatomical models' simulated T1 (``subjectNN_t1w_p4``): 256 x 256 x 181;
  raw files carry no origin, so the grid is centred on the world origin (download MINC with
  ``fmt="minc"`` for the site's own geometry).
* Anatomical models at 0.5 mm (``subjectNN_crisp``/``_fuzzy``): 362 x 434 x 362, centred.
"""

from __future__ import annotations

import gzip
import os
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnsp.data.volume import Volume, check_finite
from dnsp.errors import InputError
from dnsp.fsutil import atomic_path

__all__ = [
    "BRAINWEB_URL",
    "MODEL_SUBJECTS",
    "SBD_PHANTOM",
    "BrainWebItem",
    "brainweb_items",
    "download_brainweb",
    "raw_geometry",
    "read_brainweb_raw",
    "write_brainweb_raw",
]

BRAINWEB_URL = "https://brainweb.bic.mni.mcgill.ca"
_CGI = "/cgi/brainweb1"
#: Subject numbers of the 20 normal anatomical models.
MODEL_SUBJECTS = (4, 5, 6, 18, 20, 38, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54)
#: Download alias of the SBD normal T1 phantom used by the paper's BW experiments.
SBD_PHANTOM = "T1+ICBM+normal+1mm+pn3+rf20"

# (nx, ny, nz) -> (voxel size mm, origin of voxel 0 or None for a centred grid)
_GRIDS: dict[tuple[int, int, int], tuple[float, tuple[float, float, float] | None]] = {
    (181, 217, 181): (1.0, (-90.0, -126.0, -72.0)),
    (256, 256, 181): (1.0, None),
    (362, 434, 362): (0.5, None),
}


def raw_geometry(n_voxels: int) -> tuple[tuple[int, int, int], np.ndarray]:
    """Grid shape (x, y, z) and RAS affine of a BrainWeb raw volume with ``n_voxels`` voxels.

    Raises:
        InputError: If no known BrainWeb grid has that many voxels.
    """
    for shape, (vox, origin) in _GRIDS.items():
        if int(np.prod(shape)) == n_voxels:
            aff = np.diag([vox, vox, vox, 1.0])
            if origin is None:
                aff[:3, 3] = -vox * (np.asarray(shape, float) - 1) / 2.0
            else:
                aff[:3, 3] = origin
            return shape, aff
    known = ", ".join("x".join(map(str, s)) for s in _GRIDS)
    raise InputError(f"{n_voxels} voxels match no BrainWeb grid ({known})")


def _raw_dtype(path: Path) -> np.dtype:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".rawb"):
        return np.dtype(np.uint8)
    if name.endswith(".raws"):
        return np.dtype(">u2")
    raise InputError(f"not a BrainWeb raw file (.rawb/.raws[.gz]): {path}")


def read_brainweb_raw(
    path: str | os.PathLike[str], shape: tuple[int, int, int] | None = None,
    affine: np.ndarray | None = None,
) -> Volume:
    """Read a BrainWeb raw volume (``.rawb``: uint8, ``.raws``: big-endian uint16, ``.gz`` ok).

    Args:
        path: The file.
        shape: Grid (x, y, z); inferred from the voxel count when ``None``.
        affine: Voxel-to-world matrix; the known BrainWeb grid's when ``None``.

    Returns:
        A float32 :class:`Volume` in (x, y, z) = RAS voxel order.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input does not exist: {p}")
    dtype = _raw_dtype(p)
    try:
        raw = gzip.decompress(p.read_bytes()) if p.name.lower().endswith(".gz") else p.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {p}: {exc}") from exc
    if len(raw) == 0 or len(raw) % dtype.itemsize:
        raise InputError(f"{p} is empty or truncated ({len(raw)} bytes)")
    n = len(raw) // dtype.itemsize
    if shape is None:
        shape, default_affine = raw_geometry(n)
    else:
        if int(np.prod(shape)) != n:
            raise InputError(f"{p} holds {n} voxels, not {shape}")
        default_affine = np.eye(4)
    flat = np.frombuffer(raw, dtype=dtype)
    data = flat.reshape(shape[2], shape[1], shape[0]).transpose(2, 1, 0).astype(np.float32)
    check_finite(data, f"BrainWeb file {p}")
    aff = default_affine if affine is None else np.asarray(affine, dtype=np.float64)
    return Volume(data=np.ascontiguousarray(data), affine=aff, header=None, path=p,
                  meta={"format": "brainweb-raw"})


def write_brainweb_raw(data: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write an (x, y, z) volume in BrainWeb raw layout (dtype from the suffix; gzip if .gz)."""
    p = Path(path)
    dtype = _raw_dtype(p)
    arr = np.asarray(data)
    info = np.iinfo(dtype)
    if arr.min() < info.min or arr.max() > info.max:
        raise ValueError(f"values outside the range of {dtype}")
    payload = np.ascontiguousarray(arr.transpose(2, 1, 0)).astype(dtype).tobytes()
    if p.name.lower().endswith(".gz"):
        payload = gzip.compress(payload, 6)
    with atomic_path(p) as tmp:
        tmp.write_bytes(payload)
    return p


@dataclass(frozen=True)
class BrainWebItem:
    """One downloadable volume: the site's alias, the raw format and the local file name."""

    alias: str
    fmt: str  # "raw_byte", "raw_short" or "minc"
    filename: str


def brainweb_items(which: str | Sequence[str] = "phantom") -> list[BrainWebItem]:
    """Items to fetch: ``"phantom"`` (SBD T1 pn3 rf20), ``"models"`` (20 models' T1),
    ``"all"``, or explicit aliases (``subjectNN_t1w_p4``, ``T1+ICBM+normal+1mm+pnN+rfM``)."""
    if isinstance(which, str):
        which = [which]
    items: list[BrainWebItem] = []
    for w in which:
        if w in ("phantom", "all"):
            items.append(BrainWebItem(SBD_PHANTOM, "raw_byte",
                                      "t1_icbm_normal_1mm_pn3_rf20.rawb.gz"))
        if w in ("models", "all"):
            items.extend(BrainWebItem(f"subject{s:02d}_t1w_p4", "raw_short",
                                      f"subject{s:02d}_t1w_p4.raws.gz") for s in MODEL_SUBJECTS)
        if w not in ("phantom", "models", "all"):
            if w.startswith("subject"):
                items.append(BrainWebItem(w, "raw_short", f"{w}.raws.gz"))
            elif "+ICBM+" in w:
                name = w.lower().replace("+icbm+", "_icbm_").replace("+", "_")
                items.append(BrainWebItem(w, "raw_byte", f"{name}.rawb.gz"))
            else:
                raise ValueError(f"unknown BrainWeb item {w!r}")
    return items


def _request(base_url: str, item: BrainWebItem, timeout: float) -> bytes:
    form = {
        "do_download_alias": item.alias,
        "format_value": item.fmt,
        "zip_value": "gnuzip",
        "who_name": "",
        "who_institution": "",
        "who_email": "",
        "download_for_real": "[Start download!]",
    }
    url = base_url.rstrip("/") + _CGI
    body = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"User-Agent": "dnsp-brainweb-downloader"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def download_brainweb(
    dest: str | os.PathLike[str], which: str | Sequence[str] = "phantom",
    base_url: str = BRAINWEB_URL, timeout: float = 600.0, overwrite: bool = False,
) -> list[Path]:
    """Download BrainWeb volumes into ``dest`` as gzip-compressed raw files.

    Each answer is checked before it is kept: it must be gzip data whose size matches a known
    BrainWeb grid for its sample type (an HTML error page is rejected). Files are written
    under a temporary name and renamed; existing files are skipped unless ``overwrite``.

    Args:
        dest: Output folder (created).
        which: See :func:`brainweb_items`.
        base_url: Site root (a local stand-in server in tests).
        timeout: Seconds per request.
        overwrite: Re-download files that exist.

    Returns:
        Paths of the files in ``dest`` (downloaded or already present).

    Raises:
        ValueError: Unsafe URL scheme or unknown item.
        InputError: Network failure or an answer that is not a BrainWeb volume.
    """
    scheme = urllib.parse.urlparse(base_url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"base_url must be http(s), got {base_url!r}")
    out_dir = Path(dest)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in brainweb_items(which):
        target = out_dir / item.filename
        if target.exists() and not overwrite:
            paths.append(target)
            continue
        try:
            payload = _request(base_url, item, timeout)
        except OSError as exc:
            raise InputError(f"download of {item.alias} failed: {exc}") from exc
        try:
            raw = gzip.decompress(payload)
        except (OSError, EOFError) as exc:
            raise InputError(f"{item.alias}: the server did not send gzip data "
                             f"({payload[:60]!r}...)") from exc
        itemsize = 1 if item.fmt == "raw_byte" else 2
        if len(raw) % itemsize:
            raise InputError(f"{item.alias}: truncated download ({len(raw)} bytes)")
        raw_geometry(len(raw) // itemsize)  # raises on an unknown grid
        with atomic_path(target) as tmp:
            tmp.write_bytes(payload)
        paths.append(target)
    return paths
