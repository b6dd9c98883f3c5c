"""Invented texture without ground truth: the part of an upscaled image beyond the input's band.

An in-plane upscaling ``O`` (``(..., h*s, w*s)``) of an LR image ``I`` (``(..., h, w)``) can
only *know* what lies inside the input's band: the central ``h x w`` of ``O``'s spectrum.
Everything beyond it is the method's guess. With ``A`` the k-space truncation to the input's
matrix (:func:`dnsp.ops.kspace.kspace_downsample`, no window) and ``ZF`` the zero-filled
(sinc) interpolation back to the output grid (:func:`dnsp.ops.kspace.zero_fill_upscale`),
``P = ZF(A(.))`` is the orthogonal projection onto images band-limited to the input's band
and the **out-of-band residual** is::

    R = O - ZF(A(O)) = (I - P) O

Where the anatomy is flat (white matter away from edges) there is nothing beyond the band to
recover, so ``R`` there is invented texture. The score divides its RMS over flat bright
tissue by the input's own fine-scale fluctuation there::

    score = RMS_{M_s}(R) / RMS_M(I - G_1 * I)

with ``M`` the flat-tissue mask on the LR grid (:func:`flat_tissue_mask`), ``M_s`` the same
mask on the output grid (each LR voxel covers its ``s x s`` output voxels, SPEC section 4)
and ``G_1 *`` an in-plane Gaussian smoothing of one LR voxel sigma
(:func:`dnsp.ops.resize.gaussian_matrix`, reflecting borders, float64). Zero-filling scores 0; a
smooth interpolation (cubic) a little; a network that turns the input's noise into texture
much more.

Golden values: an ``O`` band-limited to the input's band (no energy at ``|k| >= m/2``, ``m``
the input's matrix along each axis) scores 0. White noise of standard deviation ``sigma_o``
added to ``O`` contributes ``f sigma_o^2`` to the mean square of ``R``, with ``f = 1 - 1/s^2``
up to the Nyquist bins: ``ZF(A(.))`` keeps the ``m - 1`` inner frequencies of each axis and
maps the pair ``+-m/2`` (even ``m``) to a quarter of their sum at each (trace 1/2, squared
Frobenius norm 1/4), so over a whole ``(H, W) = (s h, s w)`` image exactly
(:func:`residual_noise_fraction`)::

    f = 1 - (2 t_h t_w - q_h q_w) / (H W),   t = m - 1/2, q = m - 3/4  (m even; m, m if odd)

(0.7520 for 128 x 128 at s = 2). White noise of standard deviation ``sigma_i`` on a flat input
gives a denominator of ``sigma_i ||delta - g||_2``, ``g = g_1 (x) g_1`` the discrete 2-D
kernel: ``||delta - g||^2 = 1 - 2 g_1[0]^2 + (sum g_1^2)^2`` = 0.7613 for sigma 1 truncated
at 4 sigma (:func:`fine_fluctuation_gain`: 0.8725). Hence, on a flat input::

    score = sigma_o sqrt(f) / (sigma_i ||delta - g||)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy import ndimage

from dnsp.ops.kspace import kspace_downsample, zero_fill_upscale
from dnsp.ops.resize import apply_along_axis, gaussian_matrix

__all__ = [
    "FINE_SIGMA",
    "TextureScore",
    "fine_fluctuation_gain",
    "fine_texture",
    "flat_tissue_mask",
    "invented_texture",
    "out_of_band_residual",
    "residual_noise_fraction",
]

#: In-plane sigma (LR voxels) of the smoothing that defines the input's fine-scale fluctuation.
FINE_SIGMA = 1.0


def _smooth(x: np.ndarray, sigma: float = FINE_SIGMA) -> np.ndarray:
    """In-plane Gaussian of ``sigma`` pixels (reflecting borders) of a float64 stack."""
    t = torch.from_numpy(x)
    for axis in (-2, -1):
        t = apply_along_axis(t, gaussian_matrix(x.shape[axis], sigma,
                                                dtype=torch.float64), axis)
    return t.numpy()


def _as_stack(x: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must be one slice (h, w) or a stack (N, h, w), got shape "
                         f"{arr.shape}")
    if min(arr.shape[-2:]) < 4:
        raise ValueError(f"{name} needs in-plane sides >= 4, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr[None] if arr.ndim == 2 else arr


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 2:
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}")
    return int(scale)


def out_of_band_residual(output: np.ndarray | torch.Tensor, scale: int) -> np.ndarray:
    """``R = O - ZF(A(O))``: the part of ``output`` beyond the band of a ``1/scale`` matrix.

    Args:
        output: Upscaled images ``(h*s, w*s)`` or ``(N, h*s, w*s)``.
        scale: Integer factor s >= 2 of the upscaling (the input's matrix is ``1/s`` of the
            output's along both in-plane axes).

    Returns:
        ``R`` as float64, the shape of ``output``.

    Raises:
        ValueError: A scale below 2, sides that ``scale`` does not divide, a bad shape.
    """
    s = _check_scale(scale)
    arr = np.asarray(output.detach().cpu().numpy() if isinstance(output, torch.Tensor)
                     else output)
    if arr.ndim not in (2, 3):
        raise ValueError(f"output must be (H, W) or (N, H, W), got shape {arr.shape}")
    if arr.shape[-2] % s or arr.shape[-1] % s:
        raise ValueError(f"output sides {arr.shape[-2:]} are not multiples of scale {s}")
    o = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64))
    return (o - zero_fill_upscale(kspace_downsample(o, s), s)).numpy()


def residual_noise_fraction(shape: tuple[int, int], scale: int) -> float:
    """Mean square of :func:`out_of_band_residual` per unit of white noise, over a whole image.

    ``f = ||I - P||_F^2 / (H W)`` for ``P = ZF(A(.))`` on an ``(H, W)`` image (module
    docstring): ``1 - 1/s^2`` but for the Nyquist bins of the input's band.

    Raises:
        ValueError: A scale below 2 or sides it does not divide.
    """
    s = _check_scale(scale)
    big_h, big_w = (int(v) for v in shape)
    if big_h % s or big_w % s or min(big_h, big_w) < 1:
        raise ValueError(f"shape {shape} is not a positive multiple of scale {s}")

    def trace_and_norm(m: int) -> tuple[float, float]:
        return (m - 0.5, m - 0.75) if m % 2 == 0 else (float(m), float(m))

    th, qh = trace_and_norm(big_h // s)
    tw, qw = trace_and_norm(big_w // s)
    return 1.0 - (2.0 * th * tw - qh * qw) / (big_h * big_w)


def fine_fluctuation_gain(sigma: float = FINE_SIGMA) -> float:
    """``||delta - g||_2`` of the 2-D smoothing kernel: the fine-scale RMS per unit white noise.

    ``1 - 2 g_1[0]^2 + (sum_k g_1[k]^2)^2`` under the square root, ``g_1`` the truncated,
    normalised 1-D Gaussian of :func:`dnsp.ops.resize.gaussian_matrix` (away from borders).
    """
    n = 4 * int(4 * sigma + 0.5) + 1
    row = gaussian_matrix(n, sigma, dtype=torch.float64)[n // 2].numpy()
    return math.sqrt(1.0 - 2.0 * row[n // 2] ** 2 + float(np.sum(row**2)) ** 2)


def flat_tissue_mask(
    lr: np.ndarray | torch.Tensor,
    *,
    bright: float = 0.75,
    erosion: int = 2,
    flat_quantile: float = 0.5,
    tissue: Literal["bright", "dominant"] = "bright",
    width: float = 0.15,
) -> np.ndarray:
    """Flat tissue of LR slices (e.g. white matter of a T1): where texture is invented.

    Per slice, on ``S = G_1 * I`` (in-plane Gaussian, one voxel sigma), the tissue is

    * ``tissue="bright"`` (the issue's white matter of a T1): ``S >= bright * p98``, ``p98``
      the 98th percentile of ``S`` over the foreground (``S > 0.1 * max S``);
    * ``tissue="dominant"`` (any contrast: the white matter of a T1, the normal-appearing
      tissue of a FLAIR, whose brightest tissue is a lesion): ``|S - m| <= width * m``
      inside the foreground (holes filled, eroded by ``erosion`` voxels), ``m`` the peak of
      the histogram of ``S`` over the flattest half of that eroded foreground (100 bins up
      to its 99.5th percentile, smoothed by a 2-bin Gaussian);

    it is eroded by ``erosion`` voxels (3 x 3 element); of what remains, the
    ``flat_quantile`` fraction with the lowest gradient magnitude of ``S`` is kept (quantile
    over the whole stack).

    Args:
        lr: The input, ``(h, w)`` or ``(N, h, w)``.
        bright: Fraction of the foreground's 98th percentile that bright tissue reaches.
        erosion: Erosion iterations (LR voxels), >= 0.
        flat_quantile: Fraction (0, 1] of the eroded tissue kept, lowest gradient first
            (1 keeps it all).
        tissue: ``"bright"`` or ``"dominant"`` (above).
        width: Half width of the dominant tissue's intensity class, as a fraction of its
            peak intensity.

    Returns:
        Boolean mask of the shape of ``lr`` (2-D for a 2-D input).

    Raises:
        ValueError: Bad shape or parameters out of range.
    """
    x = _as_stack(lr, "lr")
    if not 0.0 < bright <= 1.0:
        raise ValueError(f"bright must be in (0, 1], got {bright!r}")
    if isinstance(erosion, bool) or not isinstance(erosion, int) or erosion < 0:
        raise ValueError(f"erosion must be an integer >= 0, got {erosion!r}")
    if not 0.0 < flat_quantile <= 1.0:
        raise ValueError(f"flat_quantile must be in (0, 1], got {flat_quantile!r}")
    if tissue not in ("bright", "dominant"):
        raise ValueError(f"tissue must be 'bright' or 'dominant', got {tissue!r}")
    if not 0.0 < width <= 1.0:
        raise ValueError(f"width must be in (0, 1], got {width!r}")
    smooth = _smooth(x)
    gy, gx = np.gradient(smooth, axis=(-2, -1))
    grad = np.hypot(gy, gx)
    square = np.ones((3, 3), bool)
    mask = np.zeros(x.shape, dtype=bool)
    if tissue == "bright":
        for k, sl in enumerate(smooth):
            top = float(sl.max())
            if not top > 0:
                continue
            fg = sl > 0.1 * top
            level = float(np.percentile(sl[fg], 98))
            mask[k] = sl >= bright * level
    else:
        fg = np.zeros(x.shape, dtype=bool)
        for k, sl in enumerate(smooth):
            top = float(sl.max())
            if top > 0:
                filled = ndimage.binary_fill_holes(sl > 0.1 * top)
                fg[k] = (ndimage.binary_erosion(filled, square, iterations=erosion)
                         if erosion else filled)
        if fg.any():
            flat = fg & (grad <= np.quantile(grad[fg], 0.5))
            values = smooth[flat]
            top = float(np.percentile(values, 99.5))
            if top > 0:
                counts, edges = np.histogram(values, bins=100, range=(0.0, top))
                peak = int(np.argmax(ndimage.gaussian_filter1d(counts.astype(float), 2.0)))
                m = 0.5 * float(edges[peak] + edges[peak + 1])
                mask = fg & (np.abs(smooth - m) <= width * m)
    if erosion:
        for k in range(mask.shape[0]):
            mask[k] = ndimage.binary_erosion(mask[k], square, iterations=erosion)
    if flat_quantile < 1.0 and mask.any():
        limit = float(np.quantile(grad[mask], flat_quantile))
        mask &= grad <= limit
    return mask[0] if np.asarray(lr).ndim == 2 else mask


@dataclass(frozen=True)
class TextureScore:
    """The invented-texture score and the two RMS values behind it.

    Attributes:
        score: ``residual_rms / input_rms`` (dimensionless).
        residual_rms: RMS of the out-of-band residual over the mask (output grid).
        input_rms: RMS of the input minus its one-voxel Gaussian smoothing over the mask.
        voxels: LR voxels in the mask.
    """

    score: float
    residual_rms: float
    input_rms: float
    voxels: int


def _prepared(lr: np.ndarray | torch.Tensor, output: np.ndarray | torch.Tensor, scale: int,
              mask: np.ndarray | None) -> tuple[int, np.ndarray, np.ndarray, float, int]:
    """Checked inputs of the texture scores: ``(s, output stack, mask on the output grid,
    the input's fine-scale RMS over the mask, LR voxels in the mask)``."""
    s = _check_scale(scale)
    x = _as_stack(lr, "lr")
    o = _as_stack(output, "output")
    if o.shape != (x.shape[0], x.shape[1] * s, x.shape[2] * s):
        raise ValueError(f"output shape {tuple(np.shape(output))} is not the input's "
                         f"{tuple(np.shape(lr))} upscaled by {s}")
    if mask is None:
        m = flat_tissue_mask(x)
    else:
        m = np.asarray(mask)
        if m.shape != np.shape(lr):
            raise ValueError(f"mask shape {m.shape} differs from the input's "
                             f"{tuple(np.shape(lr))}")
        m = m.astype(bool).reshape(x.shape)
    n = int(m.sum())
    if n == 0:
        raise ValueError("the flat-tissue mask is empty: no bright, flat tissue in the input")
    fine = x - _smooth(x)
    input_rms = float(np.sqrt(np.mean(fine[m] ** 2)))
    if not input_rms > 1e-12 * float(np.max(np.abs(x[m]))):
        raise ValueError("the input has no fine-scale fluctuation in the mask: the score is "
                         "undefined")
    big = np.repeat(np.repeat(m, s, axis=1), s, axis=2)
    return s, o, big, input_rms, n


def invented_texture(
    lr: np.ndarray | torch.Tensor,
    output: np.ndarray | torch.Tensor,
    scale: int,
    mask: np.ndarray | None = None,
) -> TextureScore:
    """Out-of-band RMS of ``output`` over flat tissue, relative to the input's fluctuation.

    ``score = RMS_{M_s}(O - ZF(A(O))) / RMS_M(I - G_1 * I)`` (see the module docstring):
    0 for zero-filling, about 0.1-0.3 for cubic interpolation of real scans; above 1, the
    method adds more fine texture beyond the band than the input has within it.

    Args:
        lr: The input ``I``, ``(h, w)`` or ``(N, h, w)``, any intensity units.
        output: The upscaled ``O``, ``(h*s, w*s)`` or ``(N, h*s, w*s)``, same units.
        scale: The in-plane factor s >= 2.
        mask: Boolean mask on the LR grid (shape of ``lr``); ``None``:
            :func:`flat_tissue_mask` of ``lr``.

    Returns:
        A :class:`TextureScore`.

    Raises:
        ValueError: Shapes that do not match ``scale``, a mask of the wrong shape or empty,
            NaN/inf values, or an input without fine-scale fluctuation in the mask (the score
            is undefined).
    """
    s, o, big, input_rms, n = _prepared(lr, output, scale, mask)
    residual = out_of_band_residual(o, s)
    residual_rms = float(np.sqrt(np.mean(residual[big] ** 2)))
    return TextureScore(residual_rms / input_rms, residual_rms, input_rms, n)


def fine_texture(
    lr: np.ndarray | torch.Tensor,
    output: np.ndarray | torch.Tensor,
    scale: int,
    mask: np.ndarray | None = None,
) -> float:
    """Fine texture of ``output`` over flat tissue at every scale, relative to the input's.

    ``RMS_{M_s}(O - G_s * O) / RMS_M(I - G_1 * I)``: the output's fluctuation finer than one
    input voxel (``G_s``: in-plane Gaussian of ``s`` output pixels, one input voxel), over the
    flat tissue of :func:`flat_tissue_mask`, divided by the input's own (the denominator of
    :func:`invented_texture`). Unlike :func:`invented_texture` it also sees the input's noise
    amplified *inside* its band, the fine texture a network can make of a real scan's noise
    (docs/acquisition.md); compare a method with cubic interpolation of the same input. On a
    noisy input a value below cubic's can also mean denoising.

    Args:
        lr: The input ``(h, w)`` or ``(N, h, w)``.
        output: The upscaled ``(h*s, w*s)`` or ``(N, h*s, w*s)``, same units.
        scale: The in-plane factor s >= 2.
        mask: Boolean mask on the LR grid; ``None``: :func:`flat_tissue_mask` of ``lr``.

    Returns:
        The ratio (0 for an output that is smooth at that scale).

    Raises:
        ValueError: As :func:`invented_texture`.
    """
    s, o, big, input_rms, _ = _prepared(lr, output, scale, mask)
    fine = o - _smooth(o, s * FINE_SIGMA)
    return float(np.sqrt(np.mean(fine[big] ** 2))) / input_rms
