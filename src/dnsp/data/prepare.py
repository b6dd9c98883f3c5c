"""Training data of paper Sec. IV-A / IV-F, following SPEC sections 2-4.

:func:`prepare_sr_data` turns a source of volumes into the tensors a trainer needs:

1. find the subjects of the source (:mod:`dnsp.data.sources`) and split them
   (:mod:`dnsp.data.splits`);
2. load each subject's axial stack in [0, 1] and the slices of its split, cropped in-plane to
   a multiple of the scale (:mod:`dnsp.data.stacks`), and simulate the network input from HR
   (paired sources: the registered LR slices as they are);
3. draw ``train_fraction`` of the training images with ``seed``, optionally add
   ``strip_fraction`` of them again, synthetically skull-stripped, cut ``patch`` x ``patch``
   patches with ``stride`` (skipping patches with too little foreground), optionally capped
   at ``max_patches`` (seeded draw), and select the sharp/smooth patches of SPEC sec. 3 from
   the HR training images;
4. with ``patch_depth`` set, cut 3-D blocks instead (:mod:`dnsp.data.blocks3d`).

Everything that shapes the result is a field of :class:`~dnsp.data.spec.SRDataSpec`; 2-D
results are cached under ``cache_dir`` (:mod:`dnsp.data.cache`).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from dnsp.data.augment import synthetic_skull_strip
from dnsp.data.blocks3d import prepare_blocks
from dnsp.data.cache import DATA_VERSION, cache_file, cache_key, load_cache, save_cache, spec_record
from dnsp.data.patches import extract_patch_pairs
from dnsp.data.sharp_smooth import outlier_mask, select_sharp_smooth
from dnsp.data.spec import SRData, SRDataSpec, discover_subjects
from dnsp.data.splits import split_subjects
from dnsp.data.stacks import Stack, common_crop, load_eval_slices, load_stack, network_input
from dnsp.errors import InputError

__all__ = ["as_tensor", "load_eval_slices", "prepare_sr_data"]


def as_tensor(a: np.ndarray, channels: bool = False) -> torch.Tensor:
    """``(N, ...)`` array -> float32 ``(N, 1, ...)`` (``channels``: it is ``(N, C, ...)``)."""
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t if channels else t.unsqueeze(1)


def _patches(inp: np.ndarray, hr: np.ndarray, spec: SRDataSpec) -> tuple[np.ndarray, np.ndarray]:
    """Aligned patch pairs of ``(N, H, W)`` or multi-channel ``(N, C, H, W)`` inputs."""
    first = inp if inp.ndim == 3 else inp[:, 0]
    x, y, origin = extract_patch_pairs(first, hr, spec.patch, spec.stride,
                                       min_foreground=spec.min_patch_foreground)
    if inp.ndim == 3:
        return x, y
    p = spec.patch
    xs = np.stack([inp[n, :, i:i + p, j:j + p] for n, i, j in origin]) if len(origin) else \
        np.zeros((0, inp.shape[1], p, p), np.float32)
    return xs.astype(np.float32, copy=False), y


def prepare_sr_data(spec: SRDataSpec, cache_dir: str | os.PathLike[str] | None = None) -> SRData:
    """Build (or load from ``cache_dir``) the training/validation tensors of ``spec``.

    Args:
        spec: What to prepare.
        cache_dir: Folder for the cache file ``srdata-<source>-x<s>-<key16>.pt``; ``None``
            disables caching (3-D blocks are not cached).

    Returns:
        The :class:`SRData`.

    Raises:
        InputError: Missing/empty source folder, unreadable volume, no foreground, or no
            training patch left.
    """
    if spec.patch_depth is not None:
        return prepare_blocks(spec)
    subjects = discover_subjects(spec)
    key = cache_key(spec, subjects)
    path = None if cache_dir is None else cache_file(cache_dir, spec, key)
    if path is not None:
        cached = load_cache(path, key)
        if cached is not None:
            return cached
    single = len(subjects) == 1
    train_subj, val_subj, _ = split_subjects(subjects, spec.val_fraction)

    train_stacks = [load_stack(s, spec, "train", single) for s in train_subj]
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
        kept = st.take(keep)
        draws = range(spec.acquisition_draws)
        pairs = [(network_input(kept, spec, d), kept.hr) for d in draws]
        strip = [n for i, (kk, n) in enumerate(images) if kk == k and i in stripped]
        if strip:  # HR-only sources (spec check): degrade the stripped heads like any HR
            hr = np.stack([synthetic_skull_strip(st.hr[n], strip_rng) for n in strip])
            heads = Stack(st.subject + "#stripped", st.slices[strip], hr, None, st.factor)
            pairs.extend((network_input(heads, spec, d), hr) for d in draws)
        for inp, hr in pairs:
            x, y = _patches(inp, hr, spec)
            xs.append(x)
            ys.append(y)
        hr_images.extend(st.hr[n] for n in keep)  # sharp/smooth sets: unstripped images only
    x_all = np.concatenate(xs) if xs else np.zeros((0, spec.patch, spec.patch), np.float32)
    y_all = np.concatenate(ys) if ys else np.zeros((0, spec.patch, spec.patch), np.float32)
    if x_all.shape[0] == 0:
        raise InputError(f"no {spec.patch}x{spec.patch} training patch with enough foreground "
                         "(images too small or empty)")
    if spec.max_patches is not None and x_all.shape[0] > spec.max_patches:
        pick = np.sort(rng.choice(x_all.shape[0], size=spec.max_patches, replace=False))
        x_all, y_all = x_all[pick], y_all[pick]

    sharp_smooth = _sharp_smooth(hr_images, spec.sharp_patch)

    val_stacks = common_crop([load_stack(s, spec, "val", single) for s in val_subj], spec.scale)
    if val_stacks:
        val_in = np.concatenate([network_input(st, spec) for st in val_stacks])
        val_hr = np.concatenate([st.hr for st in val_stacks])
    else:
        val_in = val_hr = np.zeros((0, spec.scale, spec.scale), np.float32)
    data = SRData(
        train_inputs=as_tensor(x_all, channels=x_all.ndim == 4),
        train_targets=as_tensor(y_all),
        val_inputs=as_tensor(val_in, channels=val_in.ndim == 4),
        val_targets=as_tensor(val_hr),
        sharp=as_tensor(sharp_smooth[0]),
        smooth=as_tensor(sharp_smooth[1]),
        val_subjects=[st.subject for st in val_stacks for _ in st.slices],
        val_slices=[int(i) for st in val_stacks for i in st.slices],
        train_subjects=[train_stacks[k].subject for k, _ in images],
        train_slices=[int(train_stacks[k].slices[n]) for k, n in images],
        meta={
            "spec": spec_record(spec),
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
    if path is not None:
        save_cache(data, path)
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
