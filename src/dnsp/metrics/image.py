"""PSNR and SSIM of one 2-D slice, and the brain (foreground) mask (SPEC section 6).

Conventions (see ``docs/evaluation.md``):

* Images are 2-D arrays on the [0, 1] intensity scale of SPEC section 2, so ``data_range = 1``.
* ``crop = c`` removes ``c`` pixels from every border of both images *before* anything else
  (the usual "shave" of the SR literature); ``crop = 0`` evaluates the whole slice.
* PSNR = 10 log10(data_range^2 / MSE) with the MSE over all pixels, or over the mask pixels.
* SSIM follows Wang et al. (IEEE TIP 2004): Gaussian window sigma = 1.5 truncated at 3.5 sigma
  (11 taps), population (co)variances, K1 = 0.01, K2 = 0.03, mirror ("reflect") borders.
  As in scikit-image, the mean is taken over the SSIM map without the 5-pixel border that the
  window overhangs. With a mask, the mean is taken over the mask pixels of that same interior.
* All arithmetic is float64, whatever the input dtype.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = [
    "HFEN_SIGMA",
    "HFEN_TRUNCATE",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_TRUNCATE",
    "brain_mask",
    "hfen",
    "psnr",
    "ssim",
    "ssim_map",
    "window_radius",
]

#: Wang et al. (2004) constants and the Gaussian window of SPEC section 6.
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
#: Truncation of the Gaussian in standard deviations: radius int(3.5 * 1.5 + 0.5) = 5, 11 taps.
SSIM_TRUNCATE = 3.5
#: HFEN (Ravishankar & Bresler, IEEE TMI 2011): Laplacian of Gaussian, sigma 1.5, 15 x 15 taps
#: (radius int(sigma * truncate + 0.5) = 7).
HFEN_SIGMA = 1.5
HFEN_TRUNCATE = 7.0 / 1.5


def _as_pair(
    pred: np.ndarray, target: np.ndarray, crop: int, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate a (pred, target, mask) triple, crop its borders and return float64 copies."""
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"pred and target must be 2-D slices, got {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise ValueError(f"pred and target shapes differ: {a.shape} vs {b.shape}")
    if not isinstance(crop, (int, np.integer)) or crop < 0:
        raise ValueError(f"crop must be a non-negative integer, got {crop!r}")
    if 2 * crop >= min(a.shape):
        raise ValueError(f"crop={crop} leaves nothing of a {a.shape} slice")
    m: np.ndarray | None = None
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != a.shape:
            raise ValueError(f"mask shape {m.shape} differs from the image shape {a.shape}")
        m = m.astype(bool)
    if crop:
        sl = (slice(crop, -crop), slice(crop, -crop))
        a, b = a[sl], b[sl]
        m = None if m is None else m[sl]
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("pred and target must be finite")
    return a, b, m


def _check_range(data_range: float) -> float:
    r = float(data_range)
    if not math.isfinite(r) or r <= 0:
        raise ValueError(f"data_range must be a positive finite number, got {data_range!r}")
    return r


def psnr(
    pred: np.ndarray,
    target: np.ndarray,
    data_range: float = 1.0,
    mask: np.ndarray | None = None,
    crop: int = 0,
) -> float:
    """Peak signal-to-noise ratio of one slice, in dB (SPEC section 6).

    PSNR = 10 log10(data_range^2 / MSE), MSE = mean((pred - target)^2) over the (cropped) slice,
    or over the pixels where ``mask`` is true. Identical images give ``inf``.

    Args:
        pred: Estimated slice (H, W).
        target: Reference HR slice (H, W) on the [0, 1] scale.
        data_range: Peak-to-peak range of the intensities (1 on the SPEC scale).
        mask: Optional boolean (H, W) region (e.g. :func:`brain_mask`); cropped like the images.
        crop: Pixels removed from every border before the computation.

    Returns:
        The PSNR in dB.

    Raises:
        ValueError: On shape mismatch, non-finite values, a bad crop/range, or an empty mask.
    """
    r = _check_range(data_range)
    a, b, m = _as_pair(pred, target, crop, mask)
    err = (a - b) ** 2
    if m is not None:
        if not m.any():
            raise ValueError("mask is empty (after cropping): PSNR is undefined")
        err = err[m]
    mse = float(err.mean())
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(r * r / mse)


def hfen(
    pred: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray | None = None,
    crop: int = 0,
    sigma: float = HFEN_SIGMA,
) -> float:
    """High-frequency error norm of one slice (Ravishankar & Bresler, IEEE TMI 2011).

    HFEN = ||LoG * (pred - target)|| / ||LoG * target||, with LoG the Laplacian of a Gaussian
    of standard deviation ``sigma`` (15 x 15 taps at the default 1.5, mirror borders), the norms
    Euclidean over the (cropped) slice or over the ``mask`` pixels. 0 for a perfect estimate,
    1 for an estimate without any of the target's fine detail (e.g. a constant); lower is
    better. Scale-free: the intensity range cancels.

    Args:
        pred: Estimated slice (H, W).
        target: Reference HR slice (H, W).
        mask: Optional boolean (H, W) region; cropped like the images.
        crop: Pixels removed from every border before the norms (after filtering the whole
            slice, so the crop sees no border effects of its own).
        sigma: Standard deviation of the Gaussian, in pixels.

    Returns:
        The HFEN (a ratio, >= 0).

    Raises:
        ValueError: On shape mismatch, non-finite values, a bad crop or sigma, an empty mask,
            or a target whose LoG response is zero (HFEN undefined).
    """
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    a, b, m = _as_pair(pred, target, 0, mask)
    if not isinstance(crop, (int, np.integer)) or crop < 0 or 2 * crop >= min(a.shape):
        raise ValueError(f"crop={crop!r} must be a non-negative integer leaving part of a "
                         f"{a.shape} slice")
    truncate = HFEN_TRUNCATE * HFEN_SIGMA / sigma
    err = ndimage.gaussian_laplace(a - b, sigma, mode="reflect", truncate=truncate)
    ref = ndimage.gaussian_laplace(b, sigma, mode="reflect", truncate=truncate)
    if crop:
        sl = (slice(crop, -crop), slice(crop, -crop))
        err, ref, m = err[sl], ref[sl], None if m is None else m[sl]
    if m is not None:
        if not m.any():
            raise ValueError("mask is empty (after cropping): HFEN is undefined")
        err, ref = err[m], ref[m]
    den = float(np.sqrt((ref ** 2).sum()))
    if den == 0.0:
        raise ValueError("the target has no high-frequency content (LoG response 0): HFEN "
                         "is undefined")
    return float(np.sqrt((err ** 2).sum())) / den


def ssim_map(
    pred: np.ndarray,
    target: np.ndarray,
    data_range: float = 1.0,
    *,
    sigma: float = SSIM_SIGMA,
    k1: float = SSIM_K1,
    k2: float = SSIM_K2,
) -> np.ndarray:
    """Local SSIM index of Wang et al. (2004, Eq. 13) at every pixel of a 2-D slice.

    Local means, variances and the covariance are Gaussian-weighted (``sigma``, truncated at
    :data:`SSIM_TRUNCATE` sigma, mirror borders) population moments; C1 = (k1 R)^2,
    C2 = (k2 R)^2 with R = ``data_range``.

    Returns:
        The SSIM map (H, W), float64. Its border of width ``window_radius(sigma)`` is
        influenced by the mirrored padding; :func:`ssim` excludes it from the mean.
    """
    r = _check_range(data_range)
    a, b, _ = _as_pair(pred, target, 0, None)
    if sigma <= 0 or k1 < 0 or k2 < 0:
        raise ValueError(f"need sigma > 0 and K1, K2 >= 0, got {sigma}, {k1}, {k2}")

    def blur(x: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(x, sigma=sigma, truncate=SSIM_TRUNCATE, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * r) ** 2, (k2 * r) ** 2
    num = (2.0 * mu_a * mu_b + c1) * (2.0 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return num / den


def window_radius(sigma: float = SSIM_SIGMA) -> int:
    """Radius in pixels of the truncated Gaussian window (5 for sigma = 1.5)."""
    return int(SSIM_TRUNCATE * sigma + 0.5)


def ssim(
    pred: np.ndarray,
    target: np.ndarray,
    data_range: float = 1.0,
    mask: np.ndarray | None = None,
    crop: int = 0,
    *,
    sigma: float = SSIM_SIGMA,
) -> float:
    """Mean structural similarity of one slice (Wang et al. 2004; SPEC section 6).

    Equals ``skimage.metrics.structural_similarity(pred, target, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=data_range)`` for ``mask=None``,
    ``crop=0`` and float64 inputs: the mean of :func:`ssim_map` over the interior that lies at
    least ``window_radius(sigma)`` pixels from the border. With ``mask``, the mean over the mask
    pixels of that interior.

    Args:
        pred: Estimated slice (H, W).
        target: Reference HR slice (H, W).
        data_range: Peak-to-peak range of the intensities (1 on the SPEC scale).
        mask: Optional boolean (H, W) region; cropped like the images.
        crop: Pixels removed from every border before the computation.
        sigma: Standard deviation of the Gaussian window.

    Raises:
        ValueError: On shape mismatch, a slice smaller than the window, or an empty mask.
    """
    a, b, m = _as_pair(pred, target, crop, mask)
    rad = window_radius(sigma)
    if min(a.shape) < 2 * rad + 1:
        raise ValueError(
            f"slice {a.shape} (after crop) is smaller than the {2 * rad + 1}-pixel SSIM window"
        )
    smap = ssim_map(a, b, data_range, sigma=sigma)
    inner = (slice(rad, smap.shape[0] - rad), slice(rad, smap.shape[1] - rad))
    smap = smap[inner]
    if m is None:
        return float(smap.mean())
    m = m[inner]
    if not m.any():
        raise ValueError("mask is empty in the SSIM interior: SSIM is undefined")
    return float(smap[m].mean())


def brain_mask(
    hr: np.ndarray, threshold: float = 0.05, *, fill_holes: bool = True, min_size: int = 16
) -> np.ndarray:
    """Foreground (head or brain) mask of HR slices for the masked metrics.

    Rule, applied to each 2-D slice of ``hr`` (on the [0, 1] scale of SPEC section 2):
    pixels with ``hr > threshold``; then holes enclosed by the foreground (dark CSF, ventricles)
    are filled; then connected components (8-connectivity) smaller than ``min_size`` pixels are
    dropped (isolated background noise). On skull-stripped data the result is the brain; on
    whole-head data it is the head, skull and scalp included.

    Args:
        hr: One slice (H, W) or a stack (N, H, W) of reference images.
        threshold: Intensity threshold on the [0, 1] scale (default 0.05).
        fill_holes: Fill enclosed background holes.
        min_size: Smallest kept connected component, in pixels (0 keeps all).

    Returns:
        Boolean array of the shape of ``hr``.
    """
    x = np.asarray(hr, dtype=np.float64)
    if x.ndim not in (2, 3):
        raise ValueError(f"hr must be (H, W) or (N, H, W), got shape {x.shape}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    stack = x[None] if x.ndim == 2 else x
    out = np.zeros(stack.shape, dtype=bool)
    eight = np.ones((3, 3), dtype=bool)
    for i, sl in enumerate(stack):
        m = sl > threshold
        if fill_holes:
            m = ndimage.binary_fill_holes(m)
        if min_size > 0 and m.any():
            lab, n = ndimage.label(m, structure=eight)
            sizes = np.bincount(lab.ravel(), minlength=n + 1)
            keep = sizes >= min_size
            keep[0] = False
            m = keep[lab]
        out[i] = m
    return out[0] if x.ndim == 2 else out
