"""What the acquisition of an LR image looks like, measured on the image itself.

Three numbers per LR slice, scale-free (the slice is divided by its 99.9th percentile first):

* ``spectral``: ``log10(P_high / P_mid) / 2 + 1`` with ``P_high`` the mean power of the
  slice's spectrum at 0.6-1.0 of the Nyquist frequency and ``P_mid`` at 0.2-0.4: near 0.2-0.4
  for a sharp band limit (k-space truncation), lower for blurred or apodised acquisitions;
* ``detail``: ``20 x`` the robust standard deviation (median absolute value / 0.6745) of the
  finest diagonal Haar detail over the foreground: edges and noise at the LR Nyquist;
* ``background``: ``30 x`` the Rayleigh estimate ``sqrt(mean(I^2) / 2)`` of the noise over
  the background (2 x 2 means below 5 % of the peak), 0 without background.

Networks trained on a mixture of acquisitions take them as constant input channels
(:class:`dnsp.acquisition.inputs.NetworkInput`): the same function runs on the simulated LR
in training and on the user's scan at inference, so the network learns what they mean.
:func:`estimate_acquisition` turns them into the nearest member of the family for reporting
(and for the consistency check of ``dnsp upscale``), says how sure it is, and measures the
noise where it can be told from Gibbs ringing and anatomy (:func:`noise_level`): the finest
diagonal Haar detail ``(a - b - c + d) / 2`` of 2 x 2 blocks, which is blind to an intensity
offset and to the one-dimensional ringing parallel to straight edges, taken with a robust
MAD over the background far from the head (Rayleigh statistics), or, on images without a
usable background (skull-stripped, masked), over flat tissue (an upper bound: anatomy adds
to it). The ``background`` feature stays as it is (trained networks read it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dnsp.acquisition.base import Acquisition, get_acquisition

__all__ = ["FEATURE_NAMES", "N_ESTIMATE", "AcquisitionEstimate", "acquisition_features",
           "estimate_acquisition", "estimate_volume", "estimation_sample", "noise_level"]

FEATURE_NAMES = ("spectral", "detail", "background")
#: ``spectral`` above this: a sharp band limit (k-space without window); below: blurred.
SHARP_SPECTRAL = 0.32
#: ``background`` feature per unit of Rician noise level: the Rayleigh estimate on 2 x 2
#: means of background magnitudes is 0.916 sigma (E[m^2] = 1.678 sigma^2), times 30.
BACKGROUND_PER_NOISE = 30 * 0.916
#: Central slices (with foreground) a volume's acquisition is estimated on.
N_ESTIMATE = 24
#: Median ``spectral`` at or above this (plus :data:`SHARP_PER_NOISE` per % of measured
#: noise beyond 1 %): a sharp band limit for sure (k-space truncation of the IXI
#: training-pool heads 0-3 gave 0.38-0.56 at noise 0-3 %; the paper's blur with 3 % noise
#: reaches 0.36); at or below :data:`SURE_SMOOTH_SPECTRAL`: a smooth one (the paper's blur
#: 0.06-0.21 without noise, Hamming k-space -0.14-0.08 up to 1 %); between: unknown (noisy
#: smooth inputs, most real native scans). Calibrated with
#: benchmarks/estimator_calibration.py (docs/acquisition.md).
SURE_SHARP_SPECTRAL = 0.34
SHARP_PER_NOISE = 0.015
SURE_SMOOTH_SPECTRAL = 0.22
#: Standard deviation of the diagonal Haar detail of 2 x 2 Rayleigh background voxels per
#: unit Rician sigma: sqrt(2 - pi / 2) (the Rayleigh standard deviation).
RAYLEIGH_STD = math.sqrt(2.0 - math.pi / 2.0)
#: Background voxels (2 x 2 blocks) nearer to the head than this many blocks are left out
#: of the noise measurement (Gibbs ringing and partial volume live there).
HEAD_MARGIN_BLOCKS = 2
#: Fewest samples a noise measurement is made on.
MIN_NOISE_SAMPLES = 100


def estimation_sample(stack: np.ndarray, n: int = N_ESTIMATE) -> np.ndarray:
    """The ``n`` central slices of a ``(N, h, w)`` stack in [0, 1] that have foreground.

    Foreground: a maximum above 0.1. A stack without any such slice is returned whole.
    """
    keep = np.flatnonzero(stack.reshape(stack.shape[0], -1).max(axis=1) > 0.1)
    if keep.size > n:
        mid = keep.size // 2
        keep = keep[mid - n // 2: mid - n // 2 + n]
    return stack[keep] if keep.size else stack


def acquisition_features(lr: np.ndarray) -> np.ndarray:
    """The three features of one LR slice ``(h, w)`` (see the module docstring), float32."""
    x = np.asarray(lr, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) < 4:
        raise ValueError(f"need one slice (h, w) with h, w >= 4, got shape {x.shape}")
    peak = float(np.percentile(x, 99.9))
    if not peak > 0:
        return np.zeros(3, np.float32)
    x = x / peak
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    a, b = x[0:h:2, 0:w:2], x[0:h:2, 1:w:2]
    c, d = x[1:h:2, 0:w:2], x[1:h:2, 1:w:2]
    diag, low = (a - b - c + d) / 2, (a + b + c + d) / 4
    fg, bg = low > 0.1, low < 0.05
    detail = float(np.median(np.abs(diag[fg]))) / 0.6745 if fg.sum() > 20 else 0.0
    background = float(np.sqrt(np.mean(low[bg] ** 2) / 2)) if bg.sum() > 20 else 0.0
    power = np.abs(np.fft.fft2(x - x.mean())) ** 2
    fy = np.fft.fftfreq(x.shape[0])[:, None] * 2
    fx = np.fft.fftfreq(x.shape[1])[None, :] * 2
    r = np.sqrt(fy**2 + fx**2)
    high = max(float(power[(r > 0.6) & (r < 1.0)].mean()), 1e-12)
    mid = max(float(power[(r > 0.2) & (r < 0.4)].mean()), 1e-12)
    return np.array([np.log10(high / mid) / 2 + 1, 20 * detail, 30 * background], np.float32)


def _blocks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(diag, low)``: the diagonal Haar detail and the mean of the 2 x 2 blocks of a slice."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    a, b = x[0:h:2, 0:w:2], x[0:h:2, 1:w:2]
    c, d = x[1:h:2, 0:w:2], x[1:h:2, 1:w:2]
    return (a - b - c + d) / 2, (a + b + c + d) / 4


def noise_level(lr: np.ndarray) -> tuple[float, str]:
    """Noise of an LR stack where it can be told from ringing and anatomy: ``(sigma, source)``.

    ``sigma`` is the Rician (per-channel Gaussian) noise level as a fraction of the stack's
    99.9th percentile; ``source`` says where it was measured:

    * ``"background"``: the diagonal Haar detail ``delta = (a - b - c + d) / 2`` of 2 x 2
      blocks over the background more than :data:`HEAD_MARGIN_BLOCKS` blocks away from the
      head (head: block means, smoothed by a 2-block Gaussian, more than 10 % of the peak
      above their 5th percentile, so that an offset such as a subtracted negative minimum
      does not matter; holes filled), exactly-zero blocks left out (with fewer than
      :data:`MIN_NOISE_SAMPLES` such blocks, a small field of view: all background blocks of
      the slices whose background is mostly not exactly zero, if at least half as many);
      ``sigma = MAD(delta) / 0.6745 /
      sqrt(2 - pi/2)`` (Rayleigh magnitude noise has standard deviation
      ``sqrt(2 - pi/2) sigma``, and ``delta`` has the standard deviation of one voxel);
    * ``"tissue"`` (no such background: skull-stripped or masked images, or a head filling
      the field of view): ``sigma = MAD(delta) / 0.6745`` over the flattest third of the
      eroded head (Gaussian regime) — an upper bound, since anatomy at the LR Nyquist adds;
    * ``"none"``: fewer than :data:`MIN_NOISE_SAMPLES` samples anywhere (``sigma`` 0).

    The detail is blind to an intensity offset (e.g. the minimum subtracted by the intensity
    map, which is negative on ringing inputs) and nearly blind to ringing along straight
    edges, which oscillates along one axis only.

    Args:
        lr: ``(N, h, w)`` or ``(h, w)`` LR slices, any intensity scale.

    Raises:
        ValueError: For another shape.
    """
    arr = np.asarray(lr, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"lr must be (N, h, w) or (h, w), got shape {arr.shape}")
    peak = float(np.percentile(arr, 99.9)) if arr.size else 0.0
    if not peak > 0 or min(arr.shape[1:]) < 4:
        return 0.0, "none"
    bg_vals: list[np.ndarray] = []
    close_vals: list[np.ndarray] = []
    fg_vals: list[np.ndarray] = []
    for sl in arr / peak:
        diag, low = _blocks(sl)
        smooth = ndimage.gaussian_filter(low, 2.0)
        head = ndimage.binary_fill_holes(smooth > float(np.percentile(smooth, 5)) + 0.1)
        near = ndimage.binary_dilation(head, iterations=HEAD_MARGIN_BLOCKS)
        far = ~near & (np.abs(low) > 0)  # exactly-zero blocks carry no noise (masked)
        bg_vals.append(diag[far])
        outside = ~head
        if np.count_nonzero(low[outside]) > 0.5 * outside.sum():  # not a masked background
            close_vals.append(diag[outside & (np.abs(low) > 0)])
        inner = ndimage.binary_erosion(head, iterations=2)
        if inner.sum() > 20:
            gy, gx = np.gradient(ndimage.gaussian_filter(low, 1.0))
            grad = np.hypot(gy, gx)
            flat = inner & (grad <= np.quantile(grad[inner], 1 / 3))
            fg_vals.append(diag[flat])
    bg = np.concatenate(bg_vals) if bg_vals else np.zeros(0)
    if bg.size >= MIN_NOISE_SAMPLES:
        return float(np.median(np.abs(bg))) / 0.6745 / RAYLEIGH_STD, "background"
    close = np.concatenate(close_vals) if close_vals else np.zeros(0)
    if close.size >= MIN_NOISE_SAMPLES // 2:  # a small field of view: the margin dropped
        return float(np.median(np.abs(close))) / 0.6745 / RAYLEIGH_STD, "background"
    fg = np.concatenate(fg_vals) if fg_vals else np.zeros(0)
    if fg.size >= MIN_NOISE_SAMPLES:
        return float(np.median(np.abs(fg))) / 0.6745, "tissue"
    return 0.0, "none"


@dataclass(frozen=True)
class AcquisitionEstimate:
    """The family member an LR volume looks like, how sure that is, and the measurements.

    Attributes:
        acquisition: The nearest noise-free model: ``kspace`` (sharp band limit) or
            ``gaussian`` (smooth band limit: the paper's blur, or an apodised k-space). Kept
            for the consistency check even when :attr:`label` is ``"unknown"``.
        noise: Estimated Rician noise level (fraction of the 99.9th percentile), from
            :func:`noise_level`; 0 when it cannot be measured.
        features: Median of :func:`acquisition_features` over the slices.
        confidence: How sure the family is, in [0, 1]: 0.5 at the edges of the
            unknown zone, 1 well beyond them, below 0.5 inside it.
        label: ``"kspace"``, ``"gaussian"`` or ``"unknown"`` (unsure: read as a k-space
            acquisition at the scan's own resolution, :attr:`assumed`).
        noise_source: Where the noise was measured: ``"background"``, ``"tissue"`` (an
            upper bound) or ``"none"``.
    """

    acquisition: Acquisition
    noise: float
    features: tuple[float, float, float]
    confidence: float = 1.0
    label: str = ""
    noise_source: str = "background"

    @property
    def confident(self) -> bool:
        """Whether the family is named (not ``"unknown"``)."""
        return self.label != "unknown"

    @property
    def plain_kspace(self) -> bool:
        """Read confidently as k-space with its noise measured in the background: a low-matrix
        acquisition with white noise, as the networks were trained on (the noise gate leaves
        such inputs alone, :meth:`dnsp.methods.network.NetworkMethod.for_volume`)."""
        return self.label == "kspace" and self.noise_source == "background"

    @property
    def assumed(self) -> Acquisition:
        """The acquisition ``dnsp upscale`` reads the volume as: the family named, and for
        ``"unknown"`` a k-space acquisition at the scan's own resolution, which is what a
        scan at its native resolution is (docs/acquisition.md, "Native scans")."""
        if self.confident or self.acquisition.name == "kspace":
            return self.acquisition
        return get_acquisition("kspace", scale=self.acquisition.scale)

    def describe(self) -> str:
        """e.g. ``kspace x2 (estimated, confidence 0.93; noise ~1.8% from background)``."""
        if self.noise_source == "none" or not self.noise > 0:
            noise = "noise not measurable"
        elif self.noise_source == "tissue":
            noise = f"noise <= {100 * self.noise:.1f}% (tissue)"
        else:
            noise = f"noise ~{100 * self.noise:.1f}%"
        if not self.confident:
            return (f"unknown (read as k-space at its own resolution; nearest "
                    f"{self.acquisition.describe()}, "
                    f"confidence {self.confidence:.2f}; {noise})")
        return (f"{self.acquisition.describe()} (estimated, confidence "
                f"{self.confidence:.2f}; {noise})")


def estimate_acquisition(lr: np.ndarray, scale: int) -> AcquisitionEstimate:
    """Classify an LR stack ``(N, h, w)`` (or one slice) into the acquisition family.

    The family comes from the median ``spectral`` feature (docs/acquisition.md): k-space
    truncation gives a sharp band limit (high ``spectral``), the paper's blur and apodised
    k-space (Hamming, Hann) a smooth one (low), which ``"gaussian"`` (the closest linear
    model) stands for. Noise raises ``spectral`` on smooth inputs (about 0.05 per %); between
    :data:`SURE_SMOOTH_SPECTRAL` and :data:`SURE_SHARP_SPECTRAL` (raised with the measured
    noise, :data:`SHARP_PER_NOISE`) the estimate is
    ``"unknown"`` and callers use their robust default. ``confidence = 0.5 + d / (2 w)``
    clipped to [0, 1], with ``d`` the distance beyond the nearer bound (negative inside) and
    ``w`` the width of the unknown zone. The noise level is :func:`noise_level` (it includes
    the noise the scan already had).
    """
    arr = np.asarray(lr, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"lr must be (N, h, w) or (h, w), got shape {arr.shape}")
    feats = np.stack([acquisition_features(s) for s in arr if np.ptp(s) > 0] or
                     [np.zeros(3, np.float32)])
    med = np.median(feats, axis=0)
    noise, source = noise_level(arr)
    lo = SURE_SMOOTH_SPECTRAL
    hi = SURE_SHARP_SPECTRAL + SHARP_PER_NOISE * max(0.0, 100.0 * noise - 1.0)
    spectral = float(med[0])
    nearest = "kspace" if spectral > (lo + hi) / 2 else "gaussian"
    width = hi - lo
    if spectral >= hi:
        label, dist = "kspace", spectral - hi
    elif spectral <= lo:
        label, dist = "gaussian", lo - spectral
    else:
        label, dist = "unknown", -min(spectral - lo, hi - spectral)
    confidence = float(np.clip(0.5 + dist / (2 * width), 0.0, 1.0))
    acq = get_acquisition(nearest, scale=scale)
    return AcquisitionEstimate(acq, noise, (spectral, float(med[1]), float(med[2])),
                               confidence, label, source)


def estimate_volume(stack: np.ndarray, scale: int) -> AcquisitionEstimate | None:
    """The one estimate of a volume's acquisition: on :func:`estimation_sample` of its
    stack ``(N, h, w)`` scaled by its 99.9th percentile (not clipped: the overshoot of
    k-space ringing is part of what is measured), ``None`` when the slices are too small to
    measure (a side under 4 voxels).

    ``dnsp upscale`` estimates each volume once, here, and hands the estimate to the method
    (whether to project onto k-space data) and to the report (the acquisition assumed).
    """
    sample = estimation_sample(np.asarray(stack, dtype=np.float32))
    if sample.ndim != 3 or min(sample.shape[1:]) < 4:
        return None
    return estimate_acquisition(sample, scale)
