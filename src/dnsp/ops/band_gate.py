"""Noise gate on what an upscaling adds beyond the input's band (issue 28).

An in-plane upscaling ``O`` of an LR image knows only the input's band; its out-of-band part
``R = O - P O`` is the method's guess. ``P`` is the orthogonal projection onto the
frequencies strictly inside the input's ``(H / s, W / s)`` matrix (``|k| < m / 2`` along each
axis; the LR Nyquist bins count as out of band, so that ``P P = P`` exactly, unlike
``ZF(A(.))`` of :func:`dnsp.metrics.out_of_band_residual`, which halves them). Where
the input is flat, a network trained on noise-free or white-noise data turns the real scan's
(correlated) noise into a fine texture there (docs/acquisition.md, "Invented texture"). The
gate keeps ``R`` where it is strong against the input's noise level and fades it where it is
not, a Wiener-like shrinkage on its local energy::

    E = box_3x3(R^2),     G = R * E / (E + (k sigma)^2),     O' = P O + (1 - P) G

with ``sigma`` the input's noise level (fraction of the intensity scale,
:func:`dnsp.acquisition.estimate.noise_level`) and ``k`` the gate's strength. Edges, whose
out-of-band energy is far above the noise, pass unchanged; on a noise-free input
(``sigma = 0``) nothing changes; the in-band part ``P O`` is never touched, so a later
data-consistency projection still holds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["DEFAULT_GATE", "band_gate", "inband"]

#: Gate strength k of the shipped defaults (docs/acquisition.md: measured on simulations and
#: on the native scans of ../shared/data).
DEFAULT_GATE = 2.0


def inband(x: Tensor, scale: int) -> Tensor:
    """``P x``: the frequencies of ``x`` strictly inside a ``1 / scale`` matrix (float64).

    Args:
        x: Images ``(..., H, W)``.
        scale: The factor s; the kept band is ``|k_y| < H / (2 s)``, ``|k_x| < W / (2 s)``
            (in cycles per image).
    """
    h, w = x.shape[-2:]
    ky = torch.fft.fftfreq(h, 1.0 / h, dtype=torch.float64).abs() < h / (2 * scale)
    kx = torch.fft.fftfreq(w, 1.0 / w, dtype=torch.float64).abs() < w / (2 * scale)
    mask = (ky[:, None] & kx[None, :]).to(torch.complex128)
    return torch.fft.ifft2(torch.fft.fft2(x.to(torch.float64)) * mask).real


def band_gate(out: Tensor, scale: int, noise: float, strength: float = DEFAULT_GATE) -> Tensor:
    """Fade the out-of-band part of ``out`` where it is weak against the noise.

    Args:
        out: Upscaled images ``(..., H, W)``, ``H`` and ``W`` multiples of ``scale``.
        scale: The in-plane factor s >= 2 (the input's matrix is ``(H / s, W / s)``).
        noise: The input's noise level sigma on the intensity scale of ``out`` (>= 0).
        strength: k; 0 turns the gate off.

    Returns:
        ``P O + (1 - P) G`` (module docstring), dtype and shape of ``out``.

    Raises:
        ValueError: A scale below 2, sides it does not divide, or a negative noise/strength.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2:
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}")
    if out.ndim < 2 or out.shape[-2] % scale or out.shape[-1] % scale:
        raise ValueError(f"out sides {tuple(out.shape[-2:])} are not multiples of {scale}")
    if not (noise >= 0 and strength >= 0):
        raise ValueError(f"noise and strength must be >= 0, got {noise!r} and {strength!r}")
    t2 = (strength * noise) ** 2
    if t2 == 0:
        return out
    x = out.to(torch.float64)
    low = inband(x, scale)
    r = x - low
    flat = (r * r).reshape(-1, 1, *r.shape[-2:])
    energy = F.avg_pool2d(F.pad(flat, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    energy = energy.reshape(r.shape)
    kept = r * energy / (energy + t2)
    return (low + kept - inband(kept, scale)).to(out.dtype)  # the band stays P O
