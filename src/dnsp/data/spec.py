"""What to prepare (:class:`SRDataSpec`), what comes out (:class:`SRData`), and its subjects.

:class:`SRDataSpec` is the data specification: every field shapes the prepared tensors (and the
cache key, :mod:`dnsp.data.cache`). The training config's ``data`` section
(:class:`dnsp.train.config.DataConfig`) *is* a spec plus run-time fields; its messages name
the keys ``data.<field>`` (:attr:`SRDataSpec.key_prefix`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from dnsp.acquisition import NetworkInput, acquisition_from_config, check_scale
from dnsp.data.patches import MIN_PATCH_FOREGROUND
from dnsp.data.sources import Subject, available_sources, discover, get_source
from dnsp.errors import InputError

__all__ = ["SPLITS", "SRData", "SRDataSpec", "discover_subjects"]

#: The subject/slab splits a spec can name.
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SRDataSpec:
    """Everything that determines the prepared data (and its cache key).

    Attributes:
        source: A name of :func:`dnsp.data.sources.available_sources`: ``"ixi"``,
            ``"brainweb"``, ``"folder"`` (NIfTI/Analyze/MINC files; a BIDS folder is read as
            BIDS), ``"bids"``, ``"pairs"`` (``root/lr`` and ``root/hr`` with matching file
            names, LR registered to HR) or ``"embedded"`` (the shipped BrainWeb phantom).
        root: Folder of the source (unused for ``embedded``; ``None`` means
            ``<shared data>/ixi-t1-2mm`` or ``.../brainweb`` for those sources).
        scale: Integer SR factor s >= 2 (for ``pairs``: only the in-plane crop multiple).
        n_slices: Axial slices per stack (paper: 40).
        patch: Training patch size (paper: 40).
        stride: Training patch stride (default 20, i.e. half-overlapping patches).
        train_fraction: Fraction of training images kept (Fig. 15: 0.25/0.5/0.75/1.0).
        seed: Seed of the fraction draw and of the ``max_patches`` draw.
        split: Slices :func:`dnsp.data.prepare.load_eval_slices` returns by default.
        val_fraction: Fraction of the training-pool subjects held out for validation.
        max_patches: Optional cap on the number of training patches.
        sharp_patch: P, the sharp/smooth patch size (paper: 40).
        pattern: Optional glob (file name) filtering the files of the source; BIDS folders
            default to ``*_T1w.nii*``.
        min_patch_foreground: A training patch is kept if at least this fraction of its HR
            pixels is above the background threshold (0.1 on [0, 1] intensities); ``None``
            means that default.
        strip_fraction: Fraction of the training images added a second time, skull-stripped
            by :func:`dnsp.data.augment.synthetic_skull_strip` and then degraded like any HR
            image (0 = off; not for paired sources, whose LR scans are not stripped).
        patch_depth: ``None`` for 2-D slices; else 3-D blocks of this many consecutive axial
            slices (volumetric networks, :mod:`dnsp.data.prepare3d`).
        acquisition: How LR arises from HR (:mod:`dnsp.acquisition` config, e.g.
            ``{"name": "kspace", "window": "hamming", "noise": 0.01}`` or a ``mixture``);
            ``None``: the paper's ``gaussian`` at ``scale`` (the prepared tensors are then
            exactly those of earlier versions). Not for paired sources.
        inputs: The network's input channels (:class:`dnsp.acquisition.NetworkInput`, e.g.
            ``["zerofill", "bicubic", "features"]``); ``None``: one bicubic channel.
        acquisition_draws: How many times each training image is acquired (each draw with its
            own noise and, for a mixture, its own model); 1 by default.
    """

    #: Prefix of the field names in error messages (``"data."`` for the training config).
    key_prefix: ClassVar[str] = ""

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
    min_patch_foreground: float | None = MIN_PATCH_FOREGROUND
    strip_fraction: float = 0.0
    patch_depth: int | None = None
    acquisition: Mapping[str, Any] | None = None
    inputs: tuple[str, ...] | None = None
    acquisition_draws: int = 1

    def __post_init__(self) -> None:
        if self.min_patch_foreground is None:
            object.__setattr__(self, "min_patch_foreground", MIN_PATCH_FOREGROUND)
        if self.inputs is not None:
            object.__setattr__(self, "inputs", tuple(self.inputs))
        if isinstance(self.acquisition, str):
            object.__setattr__(self, "acquisition", {"name": self.acquisition})
        self._check_spec()

    @property
    def network_input(self) -> NetworkInput:
        """How the network's input channels are formed from LR (one bicubic by default)."""
        return NetworkInput(self.scale, self.inputs or ("bicubic",))

    @property
    def simulated(self) -> bool:
        """Whether LR is simulated with a non-default acquisition or input channels."""
        return (self.acquisition is not None or self.inputs not in (None, ("bicubic",))
                or self.acquisition_draws != 1)

    def _fail(self, msg: str) -> None:
        raise InputError(self.key_prefix + msg)

    def _check_spec(self) -> None:
        if self.source not in available_sources():
            self._fail(f"source must be one of {', '.join(available_sources())}; "
                       f"got {self.source!r}")
        src = get_source(self.source)
        if src.needs_root and not self.root:
            self._fail(f"source {self.source!r} needs a root folder")
        try:
            object.__setattr__(self, "scale", check_scale(self.scale, 2))
        except ValueError as exc:
            self._fail(str(exc))
        for name in ("n_slices", "patch", "stride", "sharp_patch"):
            if int(getattr(self, name)) < 1:
                self._fail(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.sharp_patch < 3:
            self._fail(f"sharp_patch must be >= 3, got {self.sharp_patch}")
        if not 0 < self.train_fraction <= 1:
            self._fail(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if not 0 <= self.val_fraction < 1:
            self._fail(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.split not in SPLITS:
            self._fail(f"split must be 'train', 'val' or 'test', got {self.split!r}")
        for name in ("max_patches", "patch_depth"):
            value = getattr(self, name)
            if value is not None and value < 1:
                self._fail(f"{name} must be >= 1 or null, got {value}")
        if not 0 <= self.min_patch_foreground <= 1:  # type: ignore[operator]
            self._fail("min_patch_foreground must be in [0, 1]")
        if not 0 <= self.strip_fraction <= 1:
            self._fail(f"strip_fraction must be in [0, 1], got {self.strip_fraction}")
        if self.strip_fraction > 0 and src.paired:
            self._fail(f"strip_fraction needs HR-only data; the {self.source} source has real LR")
        if self.strip_fraction > 0 and self.patch_depth is not None:
            self._fail(f"strip_fraction applies to 2-D slices; it cannot be combined with "
                       f"{self.key_prefix}patch_depth")
        self._check_acquisition(src.paired)

    def _check_acquisition(self, paired: bool) -> None:
        if isinstance(self.acquisition_draws, bool) or not isinstance(
                self.acquisition_draws, int) or self.acquisition_draws < 1:
            self._fail(f"acquisition_draws must be an integer >= 1, got "
                       f"{self.acquisition_draws!r}")
        if not self.simulated:
            return
        if paired:
            self._fail(f"acquisition, inputs and acquisition_draws simulate LR; the "
                       f"{self.source} source has real LR")
        if self.patch_depth is not None:
            self._fail(f"acquisition, inputs and acquisition_draws apply to 2-D slices; they "
                       f"cannot be combined with {self.key_prefix}patch_depth")
        try:
            acq = acquisition_from_config(self.acquisition, self.scale)
            self.network_input  # noqa: B018 (validates the channels)
        except ValueError as exc:
            self._fail(f"acquisition: {exc}" if self.acquisition is not None else str(exc))
        if acq.scale != self.scale:
            self._fail(f"acquisition scale {acq.scale} differs from scale {self.scale}")


@dataclass
class SRData:
    """Prepared training data (all tensors float32, intensities in [0, 1]).

    Attributes:
        train_inputs: (P, C, patch, patch) network-input patches (C = 1: bicubic-upscaled LR;
            ``pairs``: LR; more channels with ``inputs``); 3-D: (P, 1, depth, patch, patch).
        train_targets: HR patches of the same shape.
        val_inputs: (N, 1, H, W) whole validation slices, network input (3-D: blocks
            (N, 1, depth, H, W)).
        val_targets: Matching whole HR validation slices (H, W multiples of the scale).
        sharp: (N_T, 1, P, P) sharpest HR training patches (SPEC sec. 3; empty for 3-D).
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


def discover_subjects(spec: SRDataSpec) -> list[Subject]:
    """List the subjects of ``spec.source``, sorted by name (ids made unique).

    Raises:
        InputError: Missing folder or no usable volume in it.
    """
    return discover(spec.source, spec.root, spec.pattern)
