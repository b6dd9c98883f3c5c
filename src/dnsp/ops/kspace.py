"""Centre-aligned k-space truncation and zero-filled (sinc) interpolation, per in-plane axis.

A low-matrix MR acquisition keeps the centre of k-space: the LR image of an ``n``-sample axis
is the band-limited interpolant of the HR image, sampled every ``s`` samples. On the grid of
SPEC section 4 (LR sample ``i`` at HR coordinate ``s * i + (s - 1) / 2``) this is, with
``X = FFT_n(x)``, ``m = n / s`` and ``d = (s - 1) / 2``::

    y[i] = 1/s * IFFT_m( w[k] * X[k] * exp(2 pi j k d / n) )[i],   |k| <= m / 2

(the half-voxel shift as a phase ramp, ``w`` an optional apodisation window, the Nyquist bin
``|k| = m / 2`` shared half and half between ``+m/2`` and ``-m/2`` so the result is real).
The ``1/s`` keeps the mean. :func:`zero_fill_upscale` is the exact inverse on band-limited
images: it places the LR spectrum in the centre of an ``s``-times larger one (undoing the phase
ramp; no window), so ``zero_fill_upscale(kspace_downsample(x, s), s) == x`` whenever ``x`` has
no energy at ``|k| >= m / 2``.

Windows (``w[k]`` with ``t = k / (m / 2)`` in [-1, 1]):

* ``hamming``: ``0.54 + 0.46 cos(pi t)``;  ``hann``: ``0.5 + 0.5 cos(pi t)``;
* ``tukey`` (``param`` = tapered fraction alpha in [0, 1], default 0.5): 1 for
  ``|t| <= 1 - alpha``, a half-cosine down to 0 at ``|t| = 1``;
* ``fermi`` (``param`` = transition width in (0, 0.5], default 0.1):
  ``1 / (1 + exp((|t| - (1 - 2 param)) / (param / 4)))``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dnsp.ops.scale import check_scale

__all__ = [
    "WINDOWS",
    "kspace_downsample",
    "kspace_truncate_axis",
    "kspace_window",
    "zero_fill_upscale",
]

#: Apodisation windows accepted by :func:`kspace_window` (``"none"`` is the box).
WINDOWS = ("none", "hamming", "hann", "tukey", "fermi")
_DEFAULT_PARAM = {"tukey": 0.5, "fermi": 0.1}


def _check(scale: int, n: int | None = None) -> int:
    scale = check_scale(scale)
    if n is not None and n % scale:
        raise ValueError(f"k-space truncation needs a matrix that the scale divides: "
                         f"{n} is not a multiple of {scale}")
    return scale


def kspace_window(m: int, window: str = "none", param: float | None = None) -> Tensor:
    """Apodisation weights of the ``m`` kept frequencies, in FFT order (float64, ``(m,)``).

    Args:
        m: Number of LR frequencies (the LR matrix size).
        window: One of :data:`WINDOWS`.
        param: Tukey alpha in [0, 1] or Fermi width in (0, 0.5]; ``None``: 0.5 / 0.1.

    Raises:
        ValueError: Unknown window name or a parameter out of range.
    """
    if window not in WINDOWS:
        raise ValueError(f"unknown k-space window {window!r}; valid windows: {', '.join(WINDOWS)}")
    k = torch.fft.fftfreq(m, d=1.0 / m, dtype=torch.float64)  # integers, -m/2 .. m/2 - 1
    t = (k.abs() / (m / 2.0)).clamp(max=1.0) if m > 1 else torch.zeros(1, dtype=torch.float64)
    if window != "none" and param is not None and window not in _DEFAULT_PARAM:
        raise ValueError(f"window {window!r} takes no parameter")
    p = _DEFAULT_PARAM.get(window) if param is None else float(param)
    if window == "none":
        return torch.ones(m, dtype=torch.float64)
    if window == "hamming":
        return 0.54 + 0.46 * torch.cos(math.pi * t)
    if window == "hann":
        return 0.5 + 0.5 * torch.cos(math.pi * t)
    if window == "tukey":
        assert p is not None
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"tukey alpha must be in [0, 1], got {p}")
        if p == 0:
            return torch.ones(m, dtype=torch.float64)
        edge = 1.0 - p
        taper = 0.5 + 0.5 * torch.cos(math.pi * (t - edge) / p)
        return torch.where(t <= edge, torch.ones_like(t), taper)
    assert p is not None  # fermi
    if not 0.0 < p <= 0.5:
        raise ValueError(f"fermi width must be in (0, 0.5], got {p}")
    return 1.0 / (1.0 + torch.exp((t - (1.0 - 2.0 * p)) / (p / 4.0)))


def _phase(n: int, scale: int, sign: float) -> Tensor:
    k = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64)
    d = (scale - 1) / 2.0
    return torch.exp(sign * 2j * math.pi * k * d / n)


def kspace_truncate_axis(
    x: Tensor, scale: int, axis: int, window: str = "none", param: float | None = None
) -> Tensor:
    """:func:`kspace_downsample` along one ``axis`` of a float64 tensor (its 1-D model)."""
    n = x.shape[axis]
    _check(scale, n)
    m = n // scale
    spec = torch.fft.fft(x.movedim(axis, -1).to(torch.complex128), dim=-1) * _phase(n, scale, 1)
    half = m // 2
    out = torch.zeros(*spec.shape[:-1], m, dtype=spec.dtype)
    out[..., : (m + 1) // 2] = spec[..., : (m + 1) // 2]  # k = 0 .. ceil(m/2) - 1
    out[..., m - half + (m % 2 == 0):] = spec[..., n - half + (m % 2 == 0):]  # negative k
    if m % 2 == 0 and scale > 1:  # Nyquist bin: mean of +m/2 and -m/2
        out[..., half] = 0.5 * (spec[..., half] + spec[..., n - half])
    out = out * kspace_window(m, window, param) / scale
    return torch.fft.ifft(out, dim=-1).real.movedim(-1, axis)


def _zero_fill_axis(y: Tensor, scale: int, axis: int) -> Tensor:
    m = y.shape[axis]
    n = m * scale
    spec = torch.fft.fft(y.movedim(axis, -1).to(torch.complex128), dim=-1)
    half = m // 2
    out = torch.zeros(*spec.shape[:-1], n, dtype=spec.dtype)
    out[..., : (m + 1) // 2] = spec[..., : (m + 1) // 2]
    if half - (m % 2 == 0) > 0:
        out[..., n - half + (m % 2 == 0):] = spec[..., m - half + (m % 2 == 0):]
    if m % 2 == 0 and scale > 1:  # split the LR Nyquist bin over +m/2 and -m/2
        out[..., half] = 0.5 * spec[..., half]
        out[..., n - half] = 0.5 * spec[..., half]
    elif m % 2 == 0:
        out[..., half] = spec[..., half]
    out = out * _phase(n, scale, -1) * scale
    return torch.fft.ifft(out, dim=-1).real.movedim(-1, axis)


def kspace_downsample(
    x: Tensor, scale: int, window: str = "none", param: float | None = None
) -> Tensor:
    """LR image of a low-matrix acquisition: keep the central 1/s of the in-plane spectrum.

    Args:
        x: Real HR images ``(..., H, W)``; H and W must be multiples of ``scale``.
        scale: Integer factor s >= 1 (1 only applies the window).
        window: Apodisation window (:data:`WINDOWS`), separable over the two axes.
        param: The window's parameter (see the module docstring).

    Returns:
        ``(..., H / s, W / s)`` in the dtype of ``x`` (computed in float64/complex128).

    Raises:
        ValueError: A scale that does not divide H or W, an unknown window, a bad parameter.
    """
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions, got shape {tuple(x.shape)}")
    s = _check(scale)
    out = kspace_truncate_axis(x.to(torch.float64), s, -2, window, param)
    return kspace_truncate_axis(out, s, -1, window, param).to(x.dtype)


def zero_fill_upscale(y: Tensor, scale: int) -> Tensor:
    """Zero-filled (band-limited, sinc) interpolation of ``(..., h, w)`` to ``(..., h*s, w*s)``.

    Centre-aligned on the grid of SPEC section 4; the inverse of :func:`kspace_downsample`
    (without window) on images band-limited to the LR band.
    """
    if y.ndim < 2:
        raise ValueError(f"y must have at least 2 dimensions, got shape {tuple(y.shape)}")
    s = _check(scale)
    out = _zero_fill_axis(y.to(torch.float64), s, -2)
    return _zero_fill_axis(out, s, -1).to(y.dtype)
