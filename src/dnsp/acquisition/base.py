"""How a low-resolution image arises from a high-resolution one: the protocol and its registry.

An acquisition model acts on the two in-plane axes of a stack ``(..., H, W)``, on the grid
convention of SPEC section 4 (LR voxel ``i`` at HR coordinate ``s * i + (s - 1) / 2``), and
knows

* :meth:`Acquisition.simulate`: HR -> LR (crop to a multiple of ``s``, then the model);
* :meth:`Acquisition.network_input`: how a network's input is formed from LR (the HR grid:
  centre-aligned Keys bicubic by default, or zero-filling);
* :meth:`Acquisition.operator`: the linear forward/adjoint operator that model-based methods
  (LRTV) need, ``None`` for a model that is not linear;
* :meth:`Acquisition.lr_affine` / :meth:`Acquisition.hr_affine`: the voxel-to-world rule;
* :meth:`Acquisition.to_config`: a dict that :func:`acquisition_from_config` turns back into
  the same model (what configs, checkpoints and model cards store).

Adding a model is one new file with a subclass decorated by :func:`register_acquisition`
and one import line in ``dnsp/acquisition/__init__.py`` (docs/architecture.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import Tensor

from dnsp.ops.kspace import zero_fill_upscale
from dnsp.ops.noise import rician_noise
from dnsp.ops.resize import (
    apply_along_axis,
    bicubic_upscale,
    crop_to_multiple,
    downscale_affine,
    upscale_affine,
)
from dnsp.ops.scale import check_scale

__all__ = [
    "DEFAULT_ACQUISITION",
    "INPUT_MODES",
    "Acquisition",
    "SeparableOperator",
    "acquisition_class",
    "acquisition_from_config",
    "available_acquisitions",
    "command_line_acquisitions",
    "default_acquisition",
    "get_acquisition",
    "register_acquisition",
]

#: The model assumed when none is given or estimated: the paper's (SPEC section 4).
DEFAULT_ACQUISITION = "gaussian"
#: How a network's input is formed from LR: Keys bicubic (the paper's) or zero-filling.
INPUT_MODES = ("bicubic", "zerofill")
#: Percentile of the HR input that a relative noise level refers to (SPEC sec. 2).
NOISE_PERCENTILE = 99.9
#: ``clean_background``: noise-free LR below this fraction of the reference is background.
BACKGROUND_FRACTION = 0.03

_REGISTRY: dict[str, type[Acquisition]] = {}
A = TypeVar("A", bound="type[Acquisition]")


@dataclass(frozen=True)
class SeparableOperator:
    """A linear in-plane operator ``A X = A_h X A_w^T`` and its adjoint ``A^T Y = A_h^T Y A_w``.

    Attributes:
        a_h: ``(h, H)`` matrix along the rows.
        a_w: ``(w, W)`` matrix along the columns.
    """

    a_h: Tensor
    a_w: Tensor

    def matrices(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(A_h, A_w, A_h^T A_h, A_w^T A_w)``."""
        return self.a_h, self.a_w, self.a_h.T @ self.a_h, self.a_w.T @ self.a_w

    def forward(self, x: Tensor) -> Tensor:
        """``A X`` for ``X (..., H, W)`` -> ``(..., h, w)``."""
        return apply_along_axis(apply_along_axis(x, self.a_h, -2), self.a_w, -1)

    def adjoint(self, y: Tensor) -> Tensor:
        """``A^T Y`` for ``Y (..., h, w)`` -> ``(..., H, W)``."""
        return apply_along_axis(apply_along_axis(y, self.a_h.T, -2), self.a_w.T, -1)


class Acquisition(ABC):
    """Base class of the acquisition models (see the module docstring).

    Subclasses set :attr:`name`, implement :meth:`_acquire` (noise-free HR -> LR on a grid
    whose sides are multiples of the scale) and, when linear, :meth:`_axis_matrix`.

    Args:
        scale: In-plane factor s (>= 1).
        noise: Rician noise level, a fraction of the 99.9th percentile of the HR input given
            to :meth:`simulate` (0: none); complex Gaussian noise of that standard deviation
            per channel is added to the LR image before the magnitude.
        input: How :meth:`network_input` upsamples: ``"bicubic"`` or ``"zerofill"``.
    """

    name: ClassVar[str] = ""
    #: Whether the model is a linear map (then :meth:`operator` is defined without noise).
    linear: ClassVar[bool] = True
    #: Whether a volume's in-plane matrix must be a multiple of the scale (no cropping).
    exact_matrix: ClassVar[bool] = False
    #: Whether the model acts along the slice axis of a volume (thick slices) instead of the
    #: two in-plane axes.
    along_slices: ClassVar[bool] = False
    #: Whether ``dnsp degrade`` simulates it from one volume and ``dnsp upscale
    #: --acquisition`` accepts it (:func:`command_line_acquisitions`); a model that needs
    #: more than a scale and keyword options (a mixture, a registered pair) sets ``False``.
    command_line: ClassVar[bool] = True

    def __init__(self, scale: int = 2, *, noise: float = 0.0, input: str = "bicubic",
                 noise_corr: float = 0.0, clean_background: bool = False) -> None:
        self.scale = check_scale(scale)
        if not isinstance(noise_corr, (int, float)) or not noise_corr >= 0:
            raise ValueError(f"noise_corr must be a number >= 0, got {noise_corr!r}")
        #: correlation length (LR pixels) of the noise; 0: white (:func:`dnsp.ops.rician_noise`)
        self.noise_corr = float(noise_corr)
        #: the background (noise-free LR below 3 % of the reference) is exactly 0 after the
        #: noise, as in masked, skull-stripped or denoised scans: noise in the tissue only
        self.clean_background = bool(clean_background)
        if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not noise >= 0:
            raise ValueError(f"noise must be a number >= 0, got {noise!r}")
        if input not in INPUT_MODES:
            raise ValueError(f"input must be one of {', '.join(INPUT_MODES)}, got {input!r}")
        self.noise = float(noise)
        self.input = input

    # -- what subclasses provide ---------------------------------------------------------
    @abstractmethod
    def _acquire(self, hr: Tensor) -> Tensor:
        """Noise-free HR ``(..., H, W)`` (sides multiples of the scale) -> LR."""

    def _axis_matrix(self, n: int) -> Tensor | None:
        """``(n / s, n)`` float64 matrix of the noise-free model along one axis, if linear."""
        return None

    def _params(self) -> dict[str, Any]:
        """Model-specific constructor arguments (for :meth:`to_config`)."""
        return {}

    @classmethod
    def from_command_line(cls, scale: int, fine_spacing: float, **options: Any) -> Acquisition:
        """The model of ``dnsp degrade --acquisition NAME --scale S [options]``.

        Args:
            scale: The command's integer factor.
            fine_spacing: The input's voxel size (mm) along the axis the model coarsens
                (the slice axis for :attr:`along_slices` models; unused by in-plane ones).
            **options: The model's keyword options the user gave (``window``, ``sigma``,
                ``noise``, ...).

        Raises:
            ValueError: Bad values, or an option the model does not take.
        """
        return cls(scale=scale, **options)

    # -- the protocol --------------------------------------------------------------------
    def simulate(self, hr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """LR images of ``hr`` ``(..., H, W)``: crop to multiples of s, acquire, add noise.

        Args:
            hr: Real HR images; trailing rows/columns beyond a multiple of s are dropped.
            generator: Seeded generator for the noise (``None``: the global one).

        Returns:
            ``(..., H // s, W // s)`` in the dtype of ``hr``.
        """
        if hr.ndim < 2:
            raise ValueError(f"hr must have at least 2 dimensions, got shape {tuple(hr.shape)}")
        lr = self._acquire(crop_to_multiple(hr, self.scale))
        if self.noise > 0:
            ref = float(np.percentile(hr.detach().cpu().numpy(), NOISE_PERCENTILE))
            clean = lr
            lr = rician_noise(lr, self.noise * max(ref, 0.0), generator, self.noise_corr)
            if self.clean_background:
                lr = torch.where(clean < BACKGROUND_FRACTION * max(ref, 0.0),
                                 torch.zeros_like(lr), lr)
        return lr

    def network_input(self, lr: Tensor) -> Tensor:
        """The network's input on the HR grid: ``(..., h, w)`` -> ``(..., h * s, w * s)``."""
        if self.scale == 1:
            return lr
        if self.input == "zerofill":
            return zero_fill_upscale(lr, self.scale)
        return bicubic_upscale(lr, self.scale)

    def operator(self, height: int, width: int, dtype: torch.dtype = torch.float32
                 ) -> SeparableOperator | None:
        """The noise-free model as a :class:`SeparableOperator` on ``(height, width)`` images.

        Returns ``None`` for a model that is not linear. ``height`` and ``width`` must be
        multiples of the scale.
        """
        for n in (height, width):
            if n < self.scale or n % self.scale:
                raise ValueError(f"size {n} is not a positive multiple of the scale {self.scale}")
        a_h, a_w = self._axis_matrix(height), self._axis_matrix(width)
        if a_h is None or a_w is None:
            return None
        return SeparableOperator(a_h.to(dtype), a_w.to(dtype))

    def project(self, hr: Tensor, lr: Tensor, damping: float = 0.0) -> Tensor:
        """Data-consistency step ``hr + A^T (A A^T + damping I)^{-1} (lr - A hr)``.

        With ``damping = 0`` (noise-free data) the projection onto ``{X : A X = lr}``:
        re-acquiring the result gives ``lr`` exactly (``A A^+ = I`` for a model of full row
        rank); the estimate keeps what the network added beyond the measured data and takes
        the measured data from ``lr``; since the true image lies in that set, the step never
        increases the error. For ``kspace`` without window it replaces the LR band by the
        measured one. With noise, ``damping = sigma^2 / tau^2`` gives the MAP estimate under
        a Gaussian spread ``tau`` of the network's estimate around the truth: each component
        of the data is trusted by ``s / (s + damping)`` (``s`` its eigenvalue of ``A A^T``),
        so weakly measured components (the edge of a window's band) are not amplified noise.

        Args:
            hr: Estimates ``(..., H, W)`` on the HR grid (H, W multiples of the scale).
            lr: The measured LR images ``(..., H / s, W / s)``.
            damping: ``sigma^2 / tau^2`` (>= 0).

        Raises:
            ValueError: A model that is not linear, shapes that do not fit, a negative damping.
        """
        if tuple(lr.shape[-2:]) != (hr.shape[-2] // self.scale, hr.shape[-1] // self.scale):
            raise ValueError(f"lr {tuple(lr.shape)} does not fit hr {tuple(hr.shape)}")
        if not damping >= 0:
            raise ValueError(f"damping must be >= 0, got {damping!r}")
        op, (u_h, s_h), (u_w, s_w) = self._projector(hr.shape[-2], hr.shape[-1])
        x = hr.to(torch.float64)
        resid = apply_along_axis(apply_along_axis(lr.to(torch.float64) - op.forward(x),
                                                  u_h.T, -2), u_w.T, -1)
        resid = resid / (s_h[:, None] * s_w[None, :] + damping)
        resid = apply_along_axis(apply_along_axis(resid, u_h, -2), u_w, -1)
        return (x + op.adjoint(resid)).to(hr.dtype)

    def _projector(self, h: int, w: int
                   ) -> tuple[SeparableOperator, tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """``A`` and the eigendecompositions ``(U, s)`` of ``A_h A_h^T`` and ``A_w A_w^T`` (so
        ``A A^T = (U_h x U_w) diag(s_h x s_w) (U_h x U_w)^T``), kept for the last shapes."""
        cache: dict[tuple[int, int], Any] = self.__dict__.setdefault("_projectors", {})
        if (h, w) not in cache:
            op = self.operator(h, w, torch.float64)
            if op is None or not self.linear:
                raise ValueError(f"{self.name} is not a linear model: no projection")
            if len(cache) >= 8:
                cache.pop(next(iter(cache)))
            eig = []
            for a in (op.a_h, op.a_w):
                s, u = torch.linalg.eigh(a @ a.T)
                eig.append((u, s.clamp_min(1e-12 * float(s.max()))))
            cache[(h, w)] = (op, eig[0], eig[1])
        return cache[(h, w)]

    def lr_affine(self, affine: np.ndarray, axes: Sequence[int]) -> np.ndarray:
        """Affine of the LR volume (LR voxel i at HR coordinate s*i + (s-1)/2 along ``axes``)."""
        if self.scale == 1:
            return np.asarray(affine, dtype=np.float64).copy()
        return downscale_affine(affine, self.scale, axes)

    def hr_affine(self, affine: np.ndarray, axes: Sequence[int]) -> np.ndarray:
        """Affine of the HR grid of an LR volume (the inverse of :meth:`lr_affine`)."""
        if self.scale == 1:
            return np.asarray(affine, dtype=np.float64).copy()
        return upscale_affine(affine, self.scale, axes)

    def to_config(self) -> dict[str, Any]:
        """``{"name": ..., "scale": ..., **params}``; :func:`acquisition_from_config` inverts it."""
        cfg: dict[str, Any] = {"name": self.name, "scale": self.scale, **self._params()}
        if self.noise:
            cfg["noise"] = self.noise
        if self.input != "bicubic":
            cfg["input"] = self.input
        if self.noise_corr:
            cfg["noise_corr"] = self.noise_corr
        if self.clean_background:
            cfg["clean_background"] = True
        return cfg

    def describe(self) -> str:
        """One human-readable line, e.g. ``kspace x2 (hamming window, 1% Rician noise)``."""
        extra = [f"{k} {v}" for k, v in self._params().items()]
        if self.noise:
            extra.append(f"{100 * self.noise:g}% Rician noise"
                         + (f" correlated over {self.noise_corr:g} px" if self.noise_corr else "")
                         + (", clean background" if self.clean_background else ""))
        tail = f" ({', '.join(extra)})" if extra else ""
        return f"{self.name} x{self.scale}{tail}"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Acquisition) and self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash(repr(self))


def projection_damping(noise: float, exact_below: float, spread: float) -> float:
    """Damping ``(sigma^2 - sigma_0^2) / tau^2`` of :meth:`Acquisition.project` for noisy data.

    The MAP step for data with noise sigma (``noise``) and an estimate that spreads by tau
    (``spread``) around the truth; below sigma_0 (``exact_below``: what a noise estimate reads
    on noise-free data) the data are exact (damping 0: the projection proper).

    Raises:
        ValueError: A negative noise or a spread that is not positive.
    """
    if not noise >= 0 or not spread > 0:
        raise ValueError(f"noise must be >= 0 and spread > 0, got {noise!r} and {spread!r}")
    return max(noise**2 - exact_below**2, 0.0) / spread**2


def register_acquisition(cls: A) -> A:
    """Class decorator: add an :class:`Acquisition` subclass to the registry under its name."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"acquisition model {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def available_acquisitions() -> list[str]:
    """Sorted names accepted by :func:`get_acquisition`."""
    return sorted(_REGISTRY)


def command_line_acquisitions() -> list[str]:
    """Sorted names of the registered models the commands offer (``command_line``)."""
    return sorted(name for name, cls in _REGISTRY.items() if cls.command_line)


def acquisition_class(name: str) -> type[Acquisition]:
    """The registered class of ``name``.

    Raises:
        ValueError: Unknown name (the message lists the valid ones).
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(f"unknown acquisition model {name!r}; valid models: "
                         f"{', '.join(available_acquisitions())}")
    return _REGISTRY[key]


def default_acquisition(scale: int) -> Acquisition:
    """The acquisition assumed when none is given or estimated: the paper's model
    (:data:`DEFAULT_ACQUISITION`: Gaussian blur sigma = s/2, s x s block mean) at ``scale``.

    The one place that default is decided (methods, data, evaluation, the commands).
    """
    return get_acquisition(DEFAULT_ACQUISITION, scale=check_scale(scale))


def get_acquisition(name: str, **params: Any) -> Acquisition:
    """Construct the acquisition model ``name`` (e.g. ``"gaussian"``, ``"kspace"``).

    Raises:
        ValueError: Unknown name (the message lists the valid ones) or bad parameters.
    """
    cls = acquisition_class(name)
    key = cls.name
    try:
        return cls(**params)
    except TypeError as exc:  # an unknown keyword
        raise ValueError(f"acquisition model {key!r}: {exc}") from exc


def acquisition_from_config(
    cfg: Mapping[str, Any] | str | Acquisition | None, scale: int | None = None
) -> Acquisition:
    """An acquisition from a config entry (``data.acquisition``), a name, or ``None``.

    Args:
        cfg: ``{"name": ..., **params}``, a bare name, an :class:`Acquisition` (returned as
            is) or ``None`` (the paper's ``gaussian``).
        scale: Used when the entry has no ``scale`` (older configs keep it beside it).

    Raises:
        ValueError: Unknown name, bad parameters, or a scale that disagrees with ``scale``.
    """
    if isinstance(cfg, Acquisition):
        return cfg
    params: dict[str, Any] = {} if cfg is None else (
        {"name": cfg} if isinstance(cfg, str) else dict(cfg))
    name = params.pop("name", DEFAULT_ACQUISITION)
    if scale is not None:
        if "scale" in params and int(params["scale"]) != int(scale):
            raise ValueError(f"acquisition scale {params['scale']} differs from scale {scale}")
        if name != "identity":
            params.setdefault("scale", scale)
    return get_acquisition(name, **params)

