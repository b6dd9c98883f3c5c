"""Per-subject axial stacks in [0, 1], the LR simulation, and the evaluation slices.

A subject's HR volume is scaled by its own 99.9th percentile to [0, 1] (SPEC sec. 2), its
axial stack is taken from the affine, the slices of the requested split are selected
(:mod:`dnsp.data.splits`) and cropped in-plane to a multiple of the scale. LR is simulated in
one place, :func:`_simulate_input` / :func:`_simulate_lr`: the spec's acquisition model
(:mod:`dnsp.acquisition`; by default the paper's, :func:`dnsp.ops.degrade`), then the
network's input channels (by default :func:`dnsp.ops.bicubic_upscale`); paired sources keep
their registered LR slices as they are (Sec. IV-F). Noise and mixture draws are seeded by the
spec's seed, the subject and the draw number.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from dnsp.acquisition import acquisition_from_config
from dnsp.data.degradation import bicubic_upscale_slices, degrade_slices
from dnsp.data.intensity import percentile_scale
from dnsp.data.io import Volume
from dnsp.data.orientation import to_axial_stack
from dnsp.data.sources import Subject
from dnsp.data.spec import SPLITS, SRDataSpec, discover_subjects
from dnsp.data.splits import select_slices, split_subjects
from dnsp.errors import InputError

__all__ = [
    "Stack",
    "common_crop",
    "draw_seed",
    "load_eval_slices",
    "load_stack",
    "network_input",
]


@dataclass
class Stack:
    """The selected axial slices of one subject.

    Attributes:
        subject: Subject id.
        slices: Axial slice indices (in the subject's axial stack).
        hr: (N, H, W) in [0, 1], H and W multiples of the scale.
        lr: Paired sources: the registered LR slices (N, H, W) in [0, 1]; else None.
        factor: The intensity scale factor of the HR volume.
    """

    subject: str
    slices: np.ndarray
    hr: np.ndarray
    lr: np.ndarray | None
    factor: float

    def take(self, keep: list[int]) -> Stack:
        """The stack restricted to the slices at positions ``keep``."""
        lr = None if self.lr is None else self.lr[keep]
        return Stack(self.subject, self.slices[keep], self.hr[keep], lr, self.factor)


def draw_seed(spec: SRDataSpec, subject: str, draw: int = 0) -> int:
    """Seed of the acquisition noise/draws of one subject's stack (spec seed, subject, draw)."""
    return int(spec.seed) * 1_000_003 + zlib.crc32(subject.encode()) * 31 + int(draw)


def _simulate_lr(hr: np.ndarray, spec: SRDataSpec, seed: int = 0) -> np.ndarray:
    """LR slices (N, H/s, W/s) simulated from HR slices (N, H, W) by the spec's acquisition."""
    if spec.acquisition is None:
        return degrade_slices(hr, spec.scale)
    acq = acquisition_from_config(spec.acquisition, spec.scale)
    return degrade_slices(hr, spec.scale, acq, seed)


def _lr_to_input(lr: np.ndarray, spec: SRDataSpec) -> np.ndarray:
    """The network input of LR slices: (N, H, W) bicubic, or (N, C, H, W) with ``inputs``."""
    if spec.inputs in (None, ("bicubic",)):
        return bicubic_upscale_slices(lr, spec.scale)
    x = spec.network_input(torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32)))
    return x.numpy()


def _simulate_input(hr: np.ndarray, spec: SRDataSpec, seed: int = 0) -> np.ndarray:
    """The network input simulated from HR slices: acquire, then form the input channels."""
    return _lr_to_input(_simulate_lr(hr, spec, seed), spec)


def network_input(st: Stack, spec: SRDataSpec, draw: int = 0) -> np.ndarray:
    """Network input of a stack: its registered LR (paired sources) or the simulated one.

    Args:
        st: The stack.
        spec: The data spec.
        draw: Which acquisition draw (``spec.acquisition_draws`` per training image).
    """
    if st.lr is not None:
        return st.lr
    return _simulate_input(st.hr, spec, draw_seed(spec, st.subject, draw))


def slices_input(hr: np.ndarray, lr: np.ndarray, spec: SRDataSpec, paired: bool) -> np.ndarray:
    """Network input of evaluation slices ``(hr, lr)`` of :func:`load_eval_slices`."""
    return lr if paired else _lr_to_input(lr, spec)


def _scale(vol: Volume) -> tuple[np.ndarray, float]:
    try:
        return percentile_scale(vol.data)
    except ValueError as exc:
        raise InputError(f"{vol.path}: {exc}") from exc


def load_stack(subject: Subject, spec: SRDataSpec, role: str, single: bool) -> Stack:
    """Load ``subject`` and select the slices of ``role`` (see the module docstring).

    Raises:
        InputError: No foreground slice, an axial plane smaller than the scale, or a paired
            LR volume on another grid than its HR volume.
    """
    hr_vol, lr_vol = subject.load()
    hr_scaled, factor = _scale(hr_vol)
    stack = to_axial_stack(hr_scaled, hr_vol.affine)
    idx = select_slices(stack, hr_vol, spec, role, single)
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
    return Stack(subject.id, idx, hr, lr, factor)


def common_crop(stacks: list[Stack], scale: int) -> list[Stack]:
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
        out.append(Stack(st.subject, st.slices, st.hr[:, i0:i0 + h, j0:j0 + w], lr, st.factor))
    return out


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
        the spec's acquisition model (default :func:`dnsp.ops.degrade`; ``pairs``: the
        registered LR slices, (N, H, W)); the subject
        id and axial slice index of each slice. Consecutive slices of one subject are
        consecutive axial slices (slab order).

    Raises:
        ValueError: Unknown split.
        InputError: Empty split, or any error of :func:`load_stack`.
    """
    split = spec.split if split is None else split
    if split not in SPLITS:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    subjects = discover_subjects(spec)
    single = len(subjects) == 1
    train, val, test = split_subjects(subjects, spec.val_fraction)
    chosen = {"train": train, "val": val, "test": test}[split]
    if not chosen:
        raise InputError(f"the {split} split of this source is empty")
    stacks = common_crop([load_stack(s, spec, split, single) for s in chosen], spec.scale)
    hr = np.concatenate([st.hr for st in stacks]).astype(np.float32)
    if stacks[0].lr is not None:
        lr = np.concatenate([st.lr for st in stacks if st.lr is not None]).astype(np.float32)
    elif spec.acquisition is None:
        lr = _simulate_lr(hr, spec)
    else:  # per subject: noise levels refer to each head's own intensities
        lr = np.concatenate([_simulate_lr(st.hr, spec, draw_seed(spec, st.subject))
                             for st in stacks])
    subj = [st.subject for st in stacks for _ in st.slices]
    ids = [int(i) for st in stacks for i in st.slices]
    return hr, lr, subj, ids
