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
(and for the consistency check of ``dnsp upscale``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnsp.acquisition.base import Acquisition, default_acquisition, get_acquisition

__all__ = ["FEATURE_NAMES", "N_ESTIMATE", "AcquisitionEstimate", "acquisition_features",
           "estimate_acquisition", "estimate_volume", "estimation_sample"]

FEATURE_NAMES = ("spectral", "detail", "background")
#: ``spectral`` above this: a sharp band limit (k-space without window); below: blurred.
SHARP_SPECTRAL = 0.32
#: ``background`` feature per unit of Rician noise level: the Rayleigh estimate on 2 x 2
#: means of background magnitudes is 0.916 sigma (E[m^2] = 1.678 sigma^2), times 30.
BACKGROUND_PER_NOISE = 30 * 0.916
#: Central slices (with foreground) a volume's acquisition is estimated on.
N_ESTIMATE = 24


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


@dataclass(frozen=True)
class AcquisitionEstimate:
    """The family member an LR volume looks like, with the measurements behind it.

    Attributes:
        acquisition: The noise-free model: ``kspace`` (sharp band limit) or ``gaussian``
            (smooth band limit: the paper's blur, or an apodised k-space).
        noise: Estimated Rician noise level (fraction of the 99.9th percentile; 0 when the
            image has no background to measure it on).
        features: Median of :func:`acquisition_features` over the slices.
    """

    acquisition: Acquisition
    noise: float
    features: tuple[float, float, float]

    def describe(self) -> str:
        """e.g. ``kspace x2 (estimated; noise ~1.8%)``."""
        noise = f"noise ~{100 * self.noise:.1f}%" if self.noise > 0 else "noise not measurable"
        return f"{self.acquisition.describe()} (estimated; {noise})"


def estimate_acquisition(lr: np.ndarray, scale: int) -> AcquisitionEstimate:
    """Classify an LR stack ``(N, h, w)`` (or one slice) into the acquisition family.

    The rule is a threshold on the median ``spectral`` feature, measured on simulated slices
    of IXI, BrainWeb, chris_t1 and mr-gd (docs/acquisition.md): k-space truncation gives
    0.39-0.57 (0.19 on the noisy BrainWeb phantom at x2), the paper's blur -0.12 to 0.25 and
    apodised k-space (Hamming, Hann) -0.38 to 0.10, so a smooth band limit is reported as the
    paper's ``gaussian``, its closest linear model. The noise level comes from the background
    and includes the noise the scan already had.
    """
    arr = np.asarray(lr, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"lr must be (N, h, w) or (h, w), got shape {arr.shape}")
    feats = np.stack([acquisition_features(s) for s in arr if np.ptp(s) > 0] or
                     [np.zeros(3, np.float32)])
    med = np.median(feats, axis=0)
    if med[0] > SHARP_SPECTRAL:
        acq = get_acquisition("kspace", scale=scale)
    else:
        acq = default_acquisition(scale)
    noise = float(med[2]) / BACKGROUND_PER_NOISE
    return AcquisitionEstimate(acq, noise, (float(med[0]), float(med[1]), float(med[2])))


def estimate_volume(stack: np.ndarray, scale: int) -> AcquisitionEstimate | None:
    """The one estimate of a volume's acquisition: on :func:`estimation_sample` of its
    stack ``(N, h, w)`` scaled to [0, 1] (values clipped to it), ``None`` when the slices
    are too small to measure (a side under 4 voxels).

    ``dnsp upscale`` estimates each volume once, here, and hands the estimate to the method
    (whether to project onto k-space data) and to the report (the acquisition assumed).
    """
    sample = np.clip(estimation_sample(np.asarray(stack, dtype=np.float32)), 0.0, 1.0)
    if sample.ndim != 3 or min(sample.shape[1:]) < 4:
        return None
    return estimate_acquisition(sample, scale)
