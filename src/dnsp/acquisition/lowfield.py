"""Low-field acquisition of paper Sec. IV-E after Wu, Chen & Nayak (PLoS One 2016), scale 1.

Model (r = B_low / B_high, c = global relaxation-correction factor):

* signal scales as B0^2 times c:       S_low = r^2 c S_high;
* thermal (body) noise scales as B0:   sigma_low = r sigma_high;
* so SNR_low / SNR_high = r c (= 0.5 for 3 T -> 1.5 T with the default c = 1).

The input magnitude image already carries noise sigma_high (estimated from the background with
the Rayleigh second moment, sigma^2 = mean(I^2) / 2). After scaling it carries r^2 c sigma_high,
so complex Gaussian noise of per-channel standard deviation
``sigma_add = sigma_high * sqrt(r^2 - (r^2 c)^2)`` is added in k-space (orthonormal FFT, so the
image-domain noise has the same standard deviation) and the magnitude is taken (Rician
statistics). By default the result is divided by r^2 c so that intensities stay in the input's
units; the SNR is the same either way. c = 1 (no relaxation change) is the default; Wu et al.
fit a field-dependent relaxation correction, which this single factor stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

from dnsp.acquisition.base import Acquisition, register_acquisition

__all__ = [
    "LowFieldAcquisition",
    "LowFieldResult",
    "background_mask",
    "estimate_noise_sigma",
    "simulate_low_field",
]


@dataclass
class LowFieldResult:
    """Output of :func:`simulate_low_field` with the numbers it used."""

    data: np.ndarray
    sigma_high: float
    sigma_added: float
    snr_ratio: float
    signal_factor: float


def background_mask(data: np.ndarray, fraction: float = 0.1, margin: int = 3) -> np.ndarray:
    """Background voxels: outside the filled, dilated head mask (> fraction x 99th pct)."""
    arr = np.asarray(data, dtype=np.float32)
    thr = fraction * float(np.percentile(arr, 99))
    head = arr > thr
    head = ndimage.binary_closing(head, iterations=2)
    head = ndimage.binary_fill_holes(head)
    if margin > 0:
        head = ndimage.binary_dilation(head, iterations=margin)
    return ~head


def estimate_noise_sigma(data: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Per-channel noise standard deviation from background magnitude (Rayleigh):
    sigma = sqrt(mean(I^2) / 2) over background voxels."""
    bg = background_mask(data) if mask is None else np.asarray(mask, dtype=bool)
    if bg.sum() < 100:
        raise ValueError("too few background voxels to estimate the noise (need >= 100)")
    vals = np.asarray(data, dtype=np.float64)[bg]
    return float(np.sqrt(np.mean(vals**2) / 2.0))


def simulate_low_field(
    data: np.ndarray, b_high: float = 3.0, b_low: float = 1.5, relaxation_factor: float = 1.0,
    noise_sigma: float | None = None, seed: int | None = 0, rescale: bool = True,
) -> LowFieldResult:
    """Simulate a B_low magnitude image from a B_high one (see the module docstring).

    Args:
        data: Magnitude image (any dimension, e.g. a 3-D volume), non-negative.
        b_high: Field strength of the input (T).
        b_low: Target field strength (T), < b_high.
        relaxation_factor: Global relaxation-correction factor c (default 1).
        noise_sigma: Noise std of the input; estimated from the background when ``None``.
        seed: Seed of the noise.
        rescale: Divide the result by r^2 c (keep input intensity units).

    Returns:
        The :class:`LowFieldResult`; ``snr_ratio`` = r c is the expected SNR_low / SNR_high.

    Raises:
        ValueError: Invalid fields/factor, r c >= 1 (no noise could be added), or a noise
            level that cannot be estimated (no background, or zero noise).
    """
    if b_high <= 0 or b_low <= 0:
        raise ValueError("field strengths must be > 0")
    if b_low >= b_high:
        raise ValueError(f"--to ({b_low} T) must be lower than --from ({b_high} T)")
    if relaxation_factor <= 0:
        raise ValueError("relaxation_factor must be > 0")
    arr = np.asarray(data, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("data contains NaN or infinite values")
    r = b_low / b_high
    gain = r * r * relaxation_factor
    if r * relaxation_factor >= 1:
        raise ValueError(f"r*c = {r * relaxation_factor:.3g} >= 1: the low-field SNR would not "
                         "be lower; reduce relaxation_factor")
    sigma_h = estimate_noise_sigma(arr) if noise_sigma is None else float(noise_sigma)
    if not sigma_h > 0:
        raise ValueError("the input noise level is zero (no background noise); pass "
                         "noise_sigma explicitly")
    sigma_add = sigma_h * np.sqrt(r * r - gain * gain)
    rng = np.random.default_rng(seed)
    kspace = np.fft.fftn(gain * arr, norm="ortho")
    noise = rng.normal(0.0, sigma_add, arr.shape) + 1j * rng.normal(0.0, sigma_add, arr.shape)
    out = np.abs(np.fft.ifftn(kspace + noise, norm="ortho"))
    if rescale:
        out = out / gain
    return LowFieldResult(data=out.astype(np.float32), sigma_high=sigma_h,
                          sigma_added=float(sigma_add), snr_ratio=r * relaxation_factor,
                          signal_factor=1.0 if rescale else gain)


@register_acquisition
class LowFieldAcquisition(Acquisition):
    """A lower-field scan of the same head on the same grid (scale 1; Sec. IV-E).

    Args:
        scale: Must be 1.
        b_high: Field strength of the input (T).
        b_low: Simulated field strength (T).
        relaxation_factor: Global relaxation-correction factor c.
        seed: Seed of the added noise when :meth:`simulate` gets no generator.
    """

    name = "lowfield"
    command_line = False  # not simulated by dnsp degrade / given to dnsp upscale
    linear = False

    def __init__(self, scale: int = 1, b_high: float = 3.0, b_low: float = 1.5,
                 relaxation_factor: float = 1.0, seed: int = 0) -> None:
        super().__init__(1)
        if scale != 1:
            raise ValueError(f"the lowfield acquisition has scale 1, got {scale}")
        simulate_low_field(np.zeros((1,)), b_high, b_low, relaxation_factor,
                           noise_sigma=1.0)  # validates the fields
        self.b_high, self.b_low = float(b_high), float(b_low)
        self.relaxation_factor, self.seed = float(relaxation_factor), int(seed)

    def simulate(self, hr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The low-field image of ``hr`` (noise estimated from its background)."""
        seed = self.seed if generator is None else int(
            torch.randint(0, 2**62, (1,), generator=generator).item())
        res = simulate_low_field(hr.detach().cpu().numpy(), self.b_high, self.b_low,
                                 self.relaxation_factor, seed=seed)
        return torch.from_numpy(res.data).to(hr.dtype)

    def _acquire(self, hr: Tensor) -> Tensor:
        return self.simulate(hr)

    def _params(self) -> dict[str, Any]:
        return {"b_high": self.b_high, "b_low": self.b_low,
                "relaxation_factor": self.relaxation_factor, "seed": self.seed}
