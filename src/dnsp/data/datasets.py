"""Training and evaluation data of paper Sec. IV-A / IV-F, following SPEC sections 2-4.

:func:`prepare_sr_data` turns a source of volumes into the tensors a trainer needs:

1. find the subjects of the source (sorted by name) and split them: multi-subject sources use
   the first half (rounded up) as the training pool and the rest as the test set (IXI: first
   20 / last 20); the last ``round(val_fraction * pool)`` pool subjects (at least one when
   ``val_fraction > 0``) are the validation subjects. A single volume (the BrainWeb phantom, a
   single user volume) is split into axial slabs instead (:mod:`dnsp.data.slicing`; the
   phantom's exact indices are :data:`dnsp.data.embedded.PHANTOM_SLABS`);
2. scale every volume by its own 99.9th percentile to [0, 1] (SPEC sec. 2), take its axial
   stack from the affine and the ``n_slices`` central slices containing foreground;
3. crop in-plane to a multiple of the scale, simulate LR with :func:`dnsp.ops.degrade` and
   upscale back with :func:`dnsp.ops.bicubic_upscale` (the ``pairs`` source uses the
   registered LR slices as they are, without bicubic, as in Sec. IV-F);
4. draw ``train_fraction`` of the training images with ``seed``, cut ``patch`` x ``patch``
   patches with ``stride`` (skipping patches with < 10% foreground), optionally capped at
   ``max_patches`` (seeded draw), and select the sharp/smooth patches of SPEC sec. 3 from the
   HR training images.

Everything that shapes the result is a field of :class:`SRDataSpec`; the on-disk cache key
hashes all fields, the code's data version and each input file's path, size and mtime.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dnsp.data.augment import synthetic_skull_strip
from dnsp.data.degradation import bicubic_upscale_slices, degrade_slices
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import Volume, load_volume
from dnsp.data.orientation import axial_axes, to_axial_stack
from dnsp.data.patches import MIN_PATCH_FOREGROUND, extract_patch_pairs
from dnsp.data.sharp_smooth import PATCH_FOREGROUND_RULE, outlier_mask, select_sharp_smooth
from dnsp.data.slicing import FG_THRESHOLD, central_slices, slab_layout
from dnsp.errors import InputError

__all__ = [
    "DATA_VERSION",
    "SINGLE_VOLUME_VAL_SLICES",
    "SOURCES",
    "SRData",
    "SRDataSpec",
    "Subject",
    "cache_key",
    "default_brainweb_root",
    "default_ixi_root",
    "discover_subjects",
    "load_eval_slices",
    "prepare_sr_data",
    "split_subjects",
]

#: Bump when the preparation code changes what it produces (invalidates caches).
DATA_VERSION = 2
SOURCES = ("ixi", "brainweb", "folder", "pairs", "embedded")
#: Validation slab size for single-volume sources (when ``val_fraction > 0``).
SINGLE_VOLUME_VAL_SLICES = 10

_IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nii.bz2", ".hdr", ".mnc", ".mnc.gz")
_BRAINWEB_SUFFIXES = (*_IMAGE_SUFFIXES, ".rawb", ".raws", ".rawb.gz", ".raws.gz")


@dataclass(frozen=True)
class SRDataSpec:
    """Everything that determines the prepared data (and its cache key).

    Attributes:
        source: ``"ixi"``, ``"brainweb"``, ``"folder"`` (NIfTI/Analyze/MINC files, BIDS
            included), ``"pairs"`` (``root/lr`` and ``root/hr`` with matching file names,
            LR registered to HR) or ``"embedded"`` (the shipped BrainWeb phantom).
        root: Folder of the source (unused for ``embedded``; ``None`` means
            ``<repo>/../shared/data/ixi-t1-2mm`` or ``.../brainweb`` for those sources).
        scale: Integer SR factor s >= 2 (for ``pairs``: only the in-plane crop multiple).
        n_slices: Axial slices per stack (paper: 40).
        patch: Training patch size (paper: 40).
        stride: Training patch stride (default 20, i.e. half-overlapping patches).
        train_fraction: Fraction of training images kept (Fig. 15: 0.25/0.5/0.75/1.0).
        seed: Seed of the fraction draw and of the ``max_patches`` draw.
        split: Slices :func:`load_eval_slices` returns by default: ``"test"`` or ``"val"``.
        val_fraction: Fraction of the training-pool subjects held out for validation.
        max_patches: Optional cap on the number of training patches.
        sharp_patch: P, the sharp/smooth patch size (paper: 40).
        pattern: Optional glob (file name) filtering the files of ``folder``/``brainweb``
            sources; BIDS folders default to ``*_T1w.nii*``.
        min_patch_foreground: A training patch is kept if at least this fraction of its HR
            pixels is above the background threshold (0.1 on [0, 1] intensities).
        strip_fraction: Fraction of the training images added a second time, skull-stripped
            by :func:`dnsp.data.augment.synthetic_skull_strip` and then degraded like any HR
            image (0 = off; not for ``pairs``, whose LR scans are not stripped).
    """

    source: str = "embedded"
    root: str | None = None
    scale: int = 2
    n_slices: int = 40
    patch: int = 40
    stride: int = 20
    train_fraction: float = 1.0
    seed: int = 0
    split: str = "test"
    val_fraction: float = 0.1
    max_patches: int | None = None
    sharp_patch: int = 40
    pattern: str | None = None
    min_patch_foreground: float = MIN_PATCH_FOREGROUND
    strip_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {self.source!r}")
        if self.source in ("folder", "pairs") and not self.root:
            raise ValueError(f"source {self.source!r} needs a root folder")
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or self.scale < 2:
            raise ValueError(f"scale must be an integer >= 2, got {self.scale!r}")
        for name in ("n_slices", "patch", "stride", "sharp_patch"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.sharp_patch < 3:
            raise ValueError(f"sharp_patch must be >= 3, got {self.sharp_patch}")
        if not 0 < self.train_fraction <= 1:
            raise ValueError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {self.split!r}")
        if self.max_patches is not None and self.max_patches < 1:
            raise ValueError(f"max_patches must be >= 1 or None, got {self.max_patches}")
        if not 0 <= self.min_patch_foreground <= 1:
            raise ValueError("min_patch_foreground must be in [0, 1]")
        if not 0 <= self.strip_fraction <= 1:
            raise ValueError(f"strip_fraction must be in [0, 1], got {self.strip_fraction}")
        if self.strip_fraction > 0 and self.source == "pairs":
            raise ValueError("strip_fraction needs HR-only data; the pairs source has real LR")


@dataclass
class SRData:
    """Prepared training data (all tensors float32, intensities in [0, 1]).

    Attributes:
        train_inputs: (P, 1, patch, patch) bicubic-upscaled LR patches (``pairs``: LR).
        train_targets: (P, 1, patch, patch) HR patches.
        val_inputs: (N, 1, H, W) whole validation slices, network input.
        val_targets: (N, 1, H, W) whole HR validation slices (H, W multiples of the scale).
        sharp: (N_T, 1, P, P) sharpest HR training patches (SPEC sec. 3).
        smooth: (N_T, 1, P, P) smoothest HR training patches.
        val_subjects: Subject id of each validation slice.
        val_slices: Axial slice index (in the subject's axial stack) of each validation slice.
        train_subjects: Subject id of each training image used.
        train_slices: Axial slice index of each training image used.
        meta: Spec, cache key, counts and scale factors (JSON-friendly).
    """

    train_inputs: torch.Tensor
    train_targets: torch.Tensor
    val_inputs: torch.Tensor
    val_targets: torch.Tensor
    sharp: torch.Tensor
    smooth: torch.Tensor
    val_subjects: list[str]
    val_slices: list[int]
    train_subjects: list[str] = field(default_factory=list)
    train_slices: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """One stack of a source: an id, the files it is read from, and how to load it.

    ``load`` returns ``(hr, lr)`` volumes; ``lr`` is ``None`` unless the source is ``pairs``.
    """

    id: str
    files: tuple[Path, ...]
    load: Callable[[], tuple[Volume, Volume | None]] = field(compare=False, repr=False)


# ----------------------------------------------------------------------------- discovery


def default_ixi_root() -> Path:
    """``<repo>/../shared/data/ixi-t1-2mm``: the development copy of IXI (may be absent)."""
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ixi-t1-2mm"


def default_brainweb_root() -> Path:
    """``<repo>/../shared/data/brainweb``: the development copy of BrainWeb (may be absent)."""
    return default_ixi_root().parent / "brainweb"


def _has_suffix(path: Path, suffixes: Iterable[str]) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in suffixes)


def _strip_suffix(name: str) -> str:
    for s in sorted(_BRAINWEB_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(s):
            return name[: -len(s)]
    return name


def _single(path: Path) -> Callable[[], tuple[Volume, Volume | None]]:
    return lambda: (load_volume(path), None)


def _root(spec: SRDataSpec) -> Path:
    if spec.root:
        root = Path(str(spec.root)).expanduser()
    elif spec.source == "ixi":
        root = default_ixi_root()
    else:
        root = default_brainweb_root()
    if not root.is_dir():
        raise InputError(f"data folder does not exist: {root}")
    return root


def _files(root: Path, suffixes: Iterable[str], pattern: str | None, recursive: bool) -> list[Path]:
    it = root.rglob("*") if recursive else root.iterdir()
    out = []
    for p in it:
        if not p.is_file() or p.name.startswith("."):
            continue
        if "derivatives" in p.relative_to(root).parts:
            continue
        if not _has_suffix(p, suffixes):
            continue
        if pattern is not None and not p.match(pattern):
            continue
        out.append(p)
    return sorted(out, key=lambda q: str(q.relative_to(root)))


def _bids_subjects(root: Path, pattern: str) -> list[Subject]:
    subjects = []
    for p in _files(root, _IMAGE_SUFFIXES, pattern, recursive=True):
        rel = p.relative_to(root)
        if "anat" not in rel.parts:
            continue
        ents = re.findall(r"(sub-[A-Za-z0-9]+|ses-[A-Za-z0-9]+|run-[A-Za-z0-9]+)", p.name)
        sid = "_".join(ents) if ents else _strip_suffix(p.name)
        subjects.append(Subject(sid, (p,), _single(p)))
    return subjects


def discover_subjects(spec: SRDataSpec) -> list[Subject]:
    """List the subjects of ``spec.source``, sorted by name.

    Raises:
        InputError: Missing folder or no usable volume in it.
    """
    if spec.source == "embedded":
        from dnsp.data.embedded import default_phantom, phantom_path

        return [Subject("brainweb_phantom", (phantom_path(),),
                        lambda: (default_phantom(), None))]
    root = _root(spec)
    if spec.source == "pairs":
        hr_dir, lr_dir = root / "hr", root / "lr"
        if not hr_dir.is_dir() or not lr_dir.is_dir():
            raise InputError(f"a pairs folder needs 'hr' and 'lr' subfolders: {root}")
        hr_files = {p.name: p for p in _files(hr_dir, _IMAGE_SUFFIXES, spec.pattern, False)}
        lr_files = {p.name: p for p in _files(lr_dir, _IMAGE_SUFFIXES, spec.pattern, False)}
        names = sorted(set(hr_files) & set(lr_files))
        missing = sorted(set(hr_files) ^ set(lr_files))
        if missing:
            raise InputError(f"unpaired files in {root}: {', '.join(missing[:5])}")
        subjects = [
            Subject(_strip_suffix(n), (hr_files[n], lr_files[n]),
                    (lambda h=hr_files[n], low=lr_files[n]: (load_volume(h), load_volume(low))))
            for n in names
        ]
    elif spec.source == "ixi":
        files = _files(root, _IMAGE_SUFFIXES, spec.pattern or "IXI*", recursive=False)
        subjects = [Subject(_strip_suffix(p.name).split("_")[0], (p,), _single(p)) for p in files]
    elif spec.source == "brainweb":
        files = _files(root, _BRAINWEB_SUFFIXES, spec.pattern, recursive=False)
        subjects = [Subject(_strip_suffix(p.name), (p,), _single(p)) for p in files]
    else:  # folder (BIDS or plain)
        if any(d.is_dir() and d.name.startswith("sub-") for d in root.iterdir()):
            subjects = _bids_subjects(root, spec.pattern or "*_T1w.nii*")
        else:
            files = _files(root, _IMAGE_SUFFIXES, spec.pattern, recursive=True)
            subjects = [Subject(str(_strip_suffix(str(p.relative_to(root)))), (p,), _single(p))
                        for p in files]
    if not subjects:
        raise InputError(f"no volumes for source {spec.source!r} found in {root}")
    ids = [s.id for s in subjects]
    if len(set(ids)) != len(ids):
        subjects = [dataclasses.replace(s, id=f"{s.id}#{k}") for k, s in enumerate(subjects)]
    return subjects


def split_subjects(
    subjects: list[Subject], val_fraction: float
) -> tuple[list[Subject], list[Subject], list[Subject]]:
    """Subject-level split: ``(train, val, test)`` (see the module docstring).

    With a single subject all three lists hold it (slab split of its slices).
    """
    n = len(subjects)
    if n == 1:
        return list(subjects), list(subjects) if val_fraction > 0 else [], list(subjects)
    n_pool = n - n // 2
    pool, test = subjects[:n_pool], subjects[n_pool:]
    n_val = 0
    if val_fraction > 0 and n_pool >= 2:
        n_val = min(max(1, round(val_fraction * n_pool)), n_pool - 1)
    return pool[: n_pool - n_val], pool[n_pool - n_val:], test


# ----------------------------------------------------------------------------- per subject


@dataclass
class _Stack:
    subject: str
    slices: np.ndarray  # axial slice indices
    hr: np.ndarray  # (N, H, W) in [0, 1], H and W multiples of the scale
    lr: np.ndarray | None  # pairs source: registered LR (N, H, W) in [0, 1]
    factor: float


def _phantom_slabs(vol: Volume, n_slices: int) -> dict[str, tuple[int, ...]] | None:
    """The fixed phantom slabs mapped onto ``vol`` if it is (a z-crop of) the BrainWeb grid."""
    from dnsp.data.embedded import PHANTOM_SLABS

    aff = vol.affine
    if n_slices != len(PHANTOM_SLABS["train"]) or vol.shape[:2] != (181, 217):
        return None
    if not (np.allclose(aff[:3, :3], np.eye(3)) and np.allclose(aff[:2, 3], [-90.0, -126.0])):
        return None
    offset = round(-72.0 - float(aff[2, 3]))
    out = {k: tuple(i + offset for i in v) for k, v in PHANTOM_SLABS.items()}
    if min(out["train"]) < 0 or max(out["test"]) >= vol.shape[2]:
        return None
    return out


def _select(stack: np.ndarray, vol: Volume, spec: SRDataSpec, role: str, single: bool
            ) -> np.ndarray:
    if not single:
        _, _, sl = axial_axes(vol.affine)
        return central_slices(stack, spec.n_slices, slice_mm=float(vol.zooms[sl]),
                              superior_is_high=bool(vol.affine[2, sl] > 0))
    slabs = _phantom_slabs(vol, spec.n_slices) if spec.source in ("embedded", "brainweb") else None
    if slabs is None:
        n_val = SINGLE_VOLUME_VAL_SLICES if spec.val_fraction > 0 else 0
        lay = slab_layout(stack, spec.n_slices, n_val)
        slabs = {"train": lay.train, "val": lay.val, "test": lay.test}
    return np.asarray(slabs[role], dtype=np.int64)


def _load_stack(subject: Subject, spec: SRDataSpec, role: str, single: bool) -> _Stack:
    hr_vol, lr_vol = subject.load()
    hr_scaled, factor = _scale(hr_vol)
    stack = to_axial_stack(hr_scaled, hr_vol.affine)
    idx = _select(stack, hr_vol, spec, role, single)
    if idx.size == 0:
        raise InputError(f"{subject.id}: no axial slice contains foreground")
    s = spec.scale
    h, w = (stack.shape[1] // s) * s, (stack.shape[2] // s) * s
    if h == 0 or w == 0:
        raise InputError(f"{subject.id}: axial plane {stack.shape[1:]} smaller than scale {s}")
    hr = np.ascontiguousarray(stack[idx, :h, :w], dtype=np.float32)
    lr = None
    if lr_vol is not None:
        if lr_vol.shape != hr_vol.shape:
            raise InputError(f"{subject.id}: LR {lr_vol.shape} and HR {hr_vol.shape} differ; "
                             "register the LR scan to the HR grid first (dnsp register)")
        lr_scaled, _ = _scale(lr_vol)
        lr = np.ascontiguousarray(to_axial_stack(lr_scaled, hr_vol.affine)[idx, :h, :w])
    return _Stack(subject.id, idx, hr, lr, factor)


def _scale(vol: Volume) -> tuple[np.ndarray, float]:
    try:
        return percentile_scale(vol.data)
    except ValueError as exc:
        raise InputError(f"{vol.path}: {exc}") from exc


def _network_input(st: _Stack, scale: int) -> np.ndarray:
    if st.lr is not None:
        return st.lr
    return bicubic_upscale_slices(degrade_slices(st.hr, scale), scale)


def _common_crop(stacks: list[_Stack], scale: int) -> list[_Stack]:
    """Centrally crop stacks to a common in-plane size (offsets and size multiples of scale)."""
    if not stacks:
        return stacks
    h = min(st.hr.shape[1] for st in stacks)
    w = min(st.hr.shape[2] for st in stacks)
    out = []
    for st in stacks:
        i0 = ((st.hr.shape[1] - h) // 2 // scale) * scale
        j0 = ((st.hr.shape[2] - w) // 2 // scale) * scale
        lr = None if st.lr is None else st.lr[:, i0:i0 + h, j0:j0 + w]
        out.append(_Stack(st.subject, st.slices, st.hr[:, i0:i0 + h, j0:j0 + w], lr, st.factor))
    return out


# ----------------------------------------------------------------------------- cache


def cache_key(spec: SRDataSpec, subjects: list[Subject] | None = None) -> str:
    """SHA-256 of every spec field, :data:`DATA_VERSION` and each input file's identity."""
    subjects = discover_subjects(spec) if subjects is None else subjects
    files = []
    for s in subjects:
        for f in s.files:
            st = f.stat()
            files.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    payload = {"spec": dataclasses.asdict(spec), "version": DATA_VERSION,
               "subjects": [s.id for s in subjects], "files": files,
               "fg": [FG_THRESHOLD, PATCH_FOREGROUND_RULE]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _save_cache(data: SRData, path: Path) -> None:
    from dnsp.fsutil import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(dataclasses.asdict(data), tmp)


def _load_cache(path: Path) -> SRData | None:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return SRData(**payload)
    except Exception:
        return None


# ----------------------------------------------------------------------------- public API


def _as_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).unsqueeze(1)


def prepare_sr_data(spec: SRDataSpec, cache_dir: str | os.PathLike[str] | None = None) -> SRData:
    """Build (or load from ``cache_dir``) the training/validation tensors of ``spec``.

    Args:
        spec: What to prepare.
        cache_dir: Folder for the cache file ``srdata-<source>-x<s>-<key16>.pt``; ``None``
            disables caching.

    Returns:
        The :class:`SRData`.

    Raises:
        InputError: Missing/empty source folder, unreadable volume, no foreground, or no
            training patch left.
    """
    subjects = discover_subjects(spec)
    key = cache_key(spec, subjects)
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"srdata-{spec.source}-x{spec.scale}-{key[:16]}.pt"
        if cache_file.is_file():
            cached = _load_cache(cache_file)
            if cached is not None and cached.meta.get("cache_key") == key:
                return cached
    single = len(subjects) == 1
    train_subj, val_subj, _ = split_subjects(subjects, spec.val_fraction)

    train_stacks = [_load_stack(s, spec, "train", single) for s in train_subj]
    images: list[tuple[int, int]] = [
        (k, n) for k, st in enumerate(train_stacks) for n in range(st.hr.shape[0])
    ]
    if not images:
        raise InputError("no training image found")
    rng = np.random.default_rng(spec.seed)
    n_keep = max(1, round(spec.train_fraction * len(images)))
    chosen = sorted(rng.choice(len(images), size=n_keep, replace=False).tolist())
    images = [images[i] for i in chosen]

    strip_rng = np.random.default_rng([spec.seed, 1])  # own stream: fraction draw unchanged
    stripped = set(strip_rng.choice(len(images), size=round(spec.strip_fraction * len(images)),
                                    replace=False).tolist())
    xs, ys, hr_images = [], [], []
    for k, st in enumerate(train_stacks):
        keep = [n for kk, n in images if kk == k]
        if not keep:
            continue
        inp = _network_input(_Stack(st.subject, st.slices[keep], st.hr[keep],
                                    None if st.lr is None else st.lr[keep], st.factor),
                             spec.scale)
        pairs = [(inp, st.hr[keep])]
        strip = [n for i, (kk, n) in enumerate(images) if kk == k and i in stripped]
        if strip:  # HR-only sources (spec check): degrade the stripped heads like any HR
            hr = np.stack([synthetic_skull_strip(st.hr[n], strip_rng) for n in strip])
            pairs.append((bicubic_upscale_slices(degrade_slices(hr, spec.scale), spec.scale), hr))
        for inp, hr in pairs:
            x, y, _ = extract_patch_pairs(inp, hr, spec.patch, spec.stride,
                                          min_foreground=spec.min_patch_foreground)
            xs.append(x)
            ys.append(y)
        hr_images.extend(st.hr[n] for n in keep)  # sharp/smooth sets: unstripped images only
    x_all = np.concatenate(xs) if xs else np.zeros((0, spec.patch, spec.patch), np.float32)
    y_all = np.concatenate(ys) if ys else x_all.copy()
    if x_all.shape[0] == 0:
        raise InputError(f"no {spec.patch}x{spec.patch} training patch with enough foreground "
                         "(images too small or empty)")
    if spec.max_patches is not None and x_all.shape[0] > spec.max_patches:
        pick = np.sort(rng.choice(x_all.shape[0], size=spec.max_patches, replace=False))
        x_all, y_all = x_all[pick], y_all[pick]

    sharp_smooth = _sharp_smooth(hr_images, spec.sharp_patch)

    val_stacks = _common_crop([_load_stack(s, spec, "val", single) for s in val_subj],
                              spec.scale)
    if val_stacks:
        val_in = np.concatenate([_network_input(st, spec.scale) for st in val_stacks])
        val_hr = np.concatenate([st.hr for st in val_stacks])
    else:
        val_in = val_hr = np.zeros((0, spec.scale, spec.scale), np.float32)
    data = SRData(
        train_inputs=_as_tensor(x_all),
        train_targets=_as_tensor(y_all),
        val_inputs=_as_tensor(val_in),
        val_targets=_as_tensor(val_hr),
        sharp=_as_tensor(sharp_smooth[0]),
        smooth=_as_tensor(sharp_smooth[1]),
        val_subjects=[st.subject for st in val_stacks for _ in st.slices],
        val_slices=[int(i) for st in val_stacks for i in st.slices],
        train_subjects=[train_stacks[k].subject for k, _ in images],
        train_slices=[int(train_stacks[k].slices[n]) for k, n in images],
        meta={
            "spec": dataclasses.asdict(spec),
            "cache_key": key,
            "data_version": DATA_VERSION,
            "n_train_images": len(images),
            "n_patches": int(x_all.shape[0]),
            "n_stripped_images": len(stripped),
            "train_subject_ids": [s.id for s in train_subj],
            "val_subject_ids": [s.id for s in val_subj],
            "scale_factors": {st.subject: st.factor for st in train_stacks + val_stacks},
        },
    )
    if cache_file is not None:
        _save_cache(data, cache_file)
    return data


def _sharp_smooth(images: list[np.ndarray], patch: int) -> tuple[np.ndarray, np.ndarray]:
    usable = [im for im in images if min(im.shape) >= patch]
    if not usable:
        empty = np.zeros((0, patch, patch), np.float32)
        return empty, empty.copy()
    # images may differ in size across subjects: select per image, then stack the patches
    sharp, smooth = [], []
    shapes = {im.shape for im in usable}
    for shape in sorted(shapes):
        group = np.stack([im for im in usable if im.shape == shape])
        sel = select_sharp_smooth(group, patch, outlier_z=None)
        sharp.append(sel.sharp)
        smooth.append(sel.smooth)
    sh, sm = np.concatenate(sharp), np.concatenate(smooth)
    energies_ok = outlier_mask(sh, sm)
    return sh[energies_ok], sm[energies_ok]


def load_eval_slices(
    spec: SRDataSpec, split: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], list[int]]:
    """HR and LR axial slices to evaluate a method on.

    Args:
        spec: The data spec (``split`` defaults to ``spec.split``).
        split: ``"test"`` (held-out subjects or the upper slab), ``"val"`` or ``"train"``.

    Returns:
        ``(hr, lr, subjects, slice_ids)``: ``hr`` (N, H, W) in [0, 1] with H, W multiples of
        the scale (stacks centrally cropped to a common size); ``lr`` (N, H/s, W/s) made by
        :func:`dnsp.ops.degrade` (``pairs``: the registered LR slices, (N, H, W)); the subject
        id and axial slice index of each slice. Consecutive slices of one subject are
        consecutive axial slices (slab order).
    """
    split = spec.split if split is None else split
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    subjects = discover_subjects(spec)
    single = len(subjects) == 1
    train, val, test = split_subjects(subjects, spec.val_fraction)
    chosen = {"train": train, "val": val, "test": test}[split]
    if not chosen:
        raise InputError(f"the {split} split of this source is empty")
    stacks = _common_crop([_load_stack(s, spec, split, single) for s in chosen], spec.scale)
    hr = np.concatenate([st.hr for st in stacks]).astype(np.float32)
    if stacks[0].lr is not None:
        lr = np.concatenate([st.lr for st in stacks if st.lr is not None]).astype(np.float32)
    else:
        lr = degrade_slices(hr, spec.scale)
    subj = [st.subject for st in stacks for _ in st.slices]
    ids = [int(i) for st in stacks for i in st.slices]
    return hr, lr, subj, ids
