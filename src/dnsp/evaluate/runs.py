"""Run SR methods on evaluation slices and record per-slice PSNR/SSIM (SPEC section 6).

Every method, network or model-based, is used through the :class:`dnsp.methods.SRMethod`
interface: ``upscale_stack(lr (N, h, w), scale) -> (N, h*s, w*s)`` on consecutive axial
slices of one subject, intensities in [0, 1]. An :class:`EvalSet` knows the acquisition model
of its LR slices (:func:`eval_acquisition`: registered pairs are on the HR grid, scale 1), and
networks are built with it (:func:`dnsp.methods.build_method`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from dnsp.acquisition import Acquisition, default_acquisition, get_acquisition
from dnsp.data.prepare import load_eval_slices
from dnsp.data.sources import get_source
from dnsp.data.spec import SRDataSpec
from dnsp.methods import SRMethod
from dnsp.metrics import SliceRecord, evaluate_slices

__all__ = ["EvalSet", "eval_acquisition", "evaluate_method", "load_eval_set", "subject_runs"]


@dataclass
class EvalSet:
    """Evaluation slices of one dataset at one scale.

    Attributes:
        dataset: Dataset name used in the results table.
        acquisition: The acquisition model of the LR slices (:func:`eval_acquisition`).
        hr: (N, H, W) HR slices in [0, 1].
        lr: (N, H/s, W/s) LR slices (pairs: (N, H, W)).
        subjects: Subject id of each slice; slices of a subject are consecutive.
        slices: Axial slice index of each slice in its volume.
    """

    dataset: str
    acquisition: Acquisition
    hr: np.ndarray
    lr: np.ndarray
    subjects: list[str]
    slices: list[int]

    @property
    def scale(self) -> int:
        """SR factor of the LR slices (1 for registered pairs on a common grid)."""
        return self.acquisition.scale

    def __len__(self) -> int:
        return int(self.hr.shape[0])


def eval_acquisition(spec: SRDataSpec) -> Acquisition:
    """The acquisition model of the evaluation LR slices of ``spec``.

    A paired source (registered LR scans resampled onto the HR grid) gives ``identity``
    (scale 1); every other source simulates LR with the paper's ``gaussian`` at ``spec.scale``.
    """
    if get_source(spec.source).paired:
        return get_acquisition("identity")
    return default_acquisition(spec.scale)


def subject_runs(subjects: Sequence[str]) -> Iterator[tuple[str, int, int]]:
    """Yield (subject, start, stop) of each run of consecutive equal subject ids."""
    start = 0
    for i in range(1, len(subjects) + 1):
        if i == len(subjects) or subjects[i] != subjects[start]:
            yield subjects[start], start, i
            start = i


def load_eval_set(
    name: str, spec: SRDataSpec, *, split: str = "test", max_subjects: int | None = None,
    max_slices: int | None = None,
) -> EvalSet:
    """Load the evaluation slices of ``spec`` and optionally keep fewer of them.

    Args:
        name: Dataset name for the results.
        spec: Data spec (source, root, scale, ...).
        split: "test" (default), "val" or "train".
        max_subjects: Keep the first N subjects of the split.
        max_slices: Keep the N central slices of each kept subject.
    """
    hr, lr, subjects, slices = load_eval_slices(spec, split)
    keep: list[int] = []
    for k, (_, start, stop) in enumerate(subject_runs(subjects)):
        if max_subjects is not None and k >= max_subjects:
            break
        n = stop - start
        m = n if max_slices is None else min(n, max_slices)
        first = start + (n - m) // 2
        keep.extend(range(first, first + m))
    idx = np.asarray(keep, dtype=np.int64)
    return EvalSet(
        dataset=name, acquisition=eval_acquisition(spec), hr=hr[idx], lr=lr[idx],
        subjects=[subjects[i] for i in idx], slices=[slices[i] for i in idx],
    )


def evaluate_method(
    method: SRMethod, es: EvalSet, *, name: str | None = None, crop: int = 0,
    progress: bool = False,
) -> tuple[list[SliceRecord], np.ndarray]:
    """Upscale every subject's slab of ``es`` with ``method`` and score each slice.

    Args:
        method: Any SR method (network wrapper or model-based baseline).
        es: Evaluation slices.
        name: Reported method name (default: the method's ``name``).
        crop: Border crop in HR pixels before scoring.
        progress: Show a per-slice progress bar on stderr.

    Returns:
        The per-slice records and the predictions (N, H, W) (clipped to [0, 1]).
    """
    label = name or getattr(method, "name", type(method).__name__)
    preds = np.zeros_like(es.hr, dtype=np.float32)
    records: list[SliceRecord] = []
    bar = tqdm(total=len(es.subjects), desc=f"evaluate {label}", unit="slice",
               file=sys.stderr, disable=not progress)
    for subject, start, stop in subject_runs(es.subjects):
        out = np.asarray(method.upscale_stack(es.lr[start:stop], es.scale))
        h, w = es.hr.shape[-2:]
        if out.shape[-2] < h or out.shape[-1] < w:
            raise ValueError(f"{label} returned {out.shape[-2:]} for HR slices of {(h, w)}")
        preds[start:stop] = np.clip(out[..., :h, :w], 0.0, 1.0)
        records.extend(evaluate_slices(
            preds[start:stop], es.hr[start:stop], method=label, dataset=es.dataset,
            scale=es.scale, subject=subject, slices=es.slices[start:stop], crop=crop,
        ))
        bar.update(stop - start)
    bar.close()
    return records, preds
