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

The **flat gate** (:func:`flat_gate`) fades ``R`` where the *anatomy* is flat, whatever the
noise: away from edges there is nothing beyond the band to recover, so what a network puts
there is invented (on the paper's blur its removal costs about 0.1 dB, while it is several
times cubic interpolation's on real scans; docs/acquisition.md, "Flat gate"). Edges are found
on the input ``I`` itself: with ``G`` an in-plane Gaussian of one input voxel (reflected
borders, :func:`dnsp.ops.resize.gaussian_blur2d`), central differences per input voxel and
``max_5x5`` the largest value within two input voxels::

    E = G * |grad (G * I)|^2,     W = max(max_5x5(E / (E + tau^2)), B) (bilinear to the
    output grid),     O' = P O + (1 - P)(W R)

with ``B`` 1 where a non-constant input sits at its minimum over a whole 3 x 3 neighbourhood
(a masked background), 0 elsewhere.

``tau`` is the edge contrast (intensity per input voxel, on the [0, 1] scale of the
99.9th percentile) at which half is kept. The maximum keeps ``R`` up to two input voxels
around an edge, where it cancels the Gibbs ringing of the band-limited ``P O`` (without it,
stripes appear in a masked background next to a crisp edge); ``B`` keeps it over the whole of
a masked background, where the network's output already is the background and ``R`` is only
that cancellation.

``(1 - P)(W R)`` is not zero in flat tissue: cutting ``R`` off at the edges gives it an in-band
part, whose removal leaves ``-P(W R)`` there, a sinc-like tail of every sharpened edge. With
``passes = n > 1`` the flat gate alternates ``n - 1`` more times between the two constraints,
out of the band and weighted by ``W`` (alternating projections)::

    K_1 = W R,     K_{j+1} = W (K_j - P K_j),     O' = P O + (1 - P) K_n

which takes the tails and the weakly kept part out of flat tissue (``W^n`` there) and keeps
the out-of-band part of strong edges (``W`` close to 1). The default serves scans it reads as
a smooth band limit with :data:`SMOOTH_READ_PASSES` (:class:`dnsp.methods.ByEstimate`):
there the network deblurs, and one pass left 2-3x cubic interpolation's out-of-band texture in
the flat tissue of real FLAIRs (docs/acquisition.md, "Flat gate"). :func:`gate_beyond_band`
applies both gates in one call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dnsp.ops.resize import gaussian_blur2d

__all__ = ["DEFAULT_FLAT_GATE", "DEFAULT_GATE", "SMOOTH_READ_PASSES", "band_gate", "flat_gate",
           "flat_weight", "gate_beyond_band", "inband", "shipped_gates"]

#: Gate strength k of the shipped defaults (docs/acquisition.md: measured on simulations and
#: on the native scans of ../shared/data).
DEFAULT_GATE = 2.0
#: Edge contrast tau of the flat gate of the shipped defaults (docs/acquisition.md, "Flat
#: gate": tuned on the simulations and the issue's native scans, reported on held-out ones).
DEFAULT_FLAT_GATE = 0.04
#: Passes of the flat gate on inputs read as a smooth band limit (docs/acquisition.md, "Flat
#: gate": tuned on BraTS FLAIR pat0001 and the paper's blur, reported on pat0002-0004).
SMOOTH_READ_PASSES = 10


def shipped_gates(named: bool) -> dict[str, float]:
    """The gates of ``dnsp upscale``: ``{"gate": k, "flat": tau}``, both on when the
    acquisition is estimated, both off when the user names it (its model and projection
    serve it); keywords of :func:`dnsp.methods.build_method`."""
    return ({"gate": 0.0, "flat": 0.0} if named
            else {"gate": DEFAULT_GATE, "flat": DEFAULT_FLAT_GATE})


def inband(x: Tensor, scale: int) -> Tensor:
    """``P x``: the frequencies of ``x`` strictly inside a ``1 / scale`` matrix.

    Args:
        x: Images ``(..., H, W)``; float32 and float64 keep their precision, other types are
            computed in float64.
        scale: The factor s; the kept band is ``|k_y| < H / (2 s)``, ``|k_x| < W / (2 s)``
            (in cycles per image).
    """
    h, w = x.shape[-2:]
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float64
    ky = torch.fft.fftfreq(h, 1.0 / h, dtype=torch.float64).abs() < h / (2 * scale)
    kx = torch.fft.rfftfreq(w, 1.0 / w, dtype=torch.float64) < w / (2 * scale)
    mask = (ky[:, None] & kx[None, :]).to(dtype)
    return torch.fft.irfft2(torch.fft.rfft2(x.to(dtype)) * mask, s=(h, w))


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
    return gate_beyond_band(out, scale, noise=noise, strength=strength)


def flat_weight(lr: Tensor, scale: int, threshold: float = DEFAULT_FLAT_GATE,
                reach: int = 2, background: bool = True) -> Tensor:
    """The flat gate's weight ``W`` on the output grid (module docstring).

    Args:
        lr: The input slices ``(..., h, w)`` on the [0, 1] scale ``threshold`` is given in.
        scale: The in-plane factor s >= 1 of the output grid ``(s h, s w)``.
        threshold: tau > 0, the edge contrast per input voxel at which
            ``E / (E + tau^2) = 1/2``.
        reach: Input voxels around an edge over which its weight is kept (the local maximum
            over ``(2 reach + 1)^2`` voxels; 0: none).
        background: Weight 1 where the input is at its minimum (over all of ``lr``) in a
            whole 3 x 3 neighbourhood, ``B`` of the module docstring.

    Returns:
        ``W`` in [0, 1], ``(..., s h, s w)``, float32.

    Raises:
        ValueError: A bad scale, a non-positive threshold or fewer than 2 dimensions.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be an integer >= 1, got {scale!r}")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    if lr.ndim < 2:
        raise ValueError(f"lr must have at least 2 dimensions, got shape {tuple(lr.shape)}")
    if isinstance(reach, bool) or not isinstance(reach, int) or reach < 0:
        raise ValueError(f"reach must be an integer >= 0, got {reach!r}")
    h, w = lr.shape[-2:]
    x = lr.to(torch.float32).reshape(-1, 1, h, w)
    # grad (G * I) as G * grad I (they commute away from the borders): exactly 0 on flat input
    gy = torch.zeros_like(x)
    gx = torch.zeros_like(x)
    if h > 2:
        gy[..., 1:-1, :] = (x[..., 2:, :] - x[..., :-2, :]) / 2
    if w > 2:
        gx[..., 1:-1] = (x[..., 2:] - x[..., :-2]) / 2
    gy, gx = gaussian_blur2d(gy, 1.0), gaussian_blur2d(gx, 1.0)
    energy = gaussian_blur2d(gy * gy + gx * gx, 1.0)
    weight = energy / (energy + threshold**2)
    if reach:
        weight = F.max_pool2d(F.pad(weight, (reach,) * 4, mode="replicate"), 2 * reach + 1,
                              stride=1)
    if background and x.numel() and x.max() > x.min():  # a constant input has none
        floor = (x <= x.min()).to(x.dtype)  # the 3 x 3 erosion of the minimum's voxels
        floor = -F.max_pool2d(F.pad(-floor, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        weight = torch.maximum(weight, floor)
    if scale > 1:  # centre-aligned, as the SPEC grid
        weight = F.interpolate(weight, scale_factor=scale, mode="bilinear", align_corners=False)
    return weight.reshape(*lr.shape[:-2], h * scale, w * scale)


def flat_gate(out: Tensor, lr: Tensor, threshold: float = DEFAULT_FLAT_GATE,
              passes: int = 1) -> Tensor:
    """Fade the out-of-band part of ``out`` where the input ``lr`` has no edge.

    Args:
        out: Upscaled images ``(..., H, W)`` on the [0, 1] intensity scale.
        lr: The input slices ``(..., H / s, W / s)`` they were upscaled from, s >= 2.
        threshold: tau, the edge contrast per input voxel at which half of the out-of-band
            part is kept; 0 turns the gate off.
        passes: n >= 1, the alternations between the band and the weight (module
            docstring; 1: ``(1 - P)(W R)``).

    Returns:
        ``P O + (1 - P) K_n`` (module docstring), dtype and shape of ``out``.

    Raises:
        ValueError: Shapes that are not an integer upscaling by s >= 2, a negative
            threshold or fewer than one pass.
    """
    return gate_beyond_band(out, _scale_of(out, lr), lr=lr, threshold=threshold,
                            passes=passes)


def gate_beyond_band(out: Tensor, scale: int, *, noise: float = 0.0, strength: float = 0.0,
                     lr: Tensor | None = None, threshold: float = 0.0,
                     passes: int = 1) -> Tensor:
    """Both gates in one call: ``P O + (1 - P) K_n`` with ``K_1 = W G`` (module docstring).

    Args:
        out: Upscaled images ``(..., H, W)``, ``H`` and ``W`` multiples of ``scale``.
        scale: The in-plane factor s >= 2.
        noise: The input's noise level sigma (>= 0) for the noise gate.
        strength: k of the noise gate (0: off).
        lr: The input slices ``(..., H / s, W / s)`` (needed by the flat gate).
        threshold: tau of the flat gate (0: off).
        passes: n >= 1 of the flat gate.

    Returns:
        The gated output, dtype and shape of ``out`` (``out`` itself when both are off).

    Raises:
        ValueError: A scale below 2, sides it does not divide, negative parameters, fewer
            than one pass, or a flat gate without the matching ``lr``.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2:
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}")
    if out.ndim < 2 or out.shape[-2] % scale or out.shape[-1] % scale:
        raise ValueError(f"out sides {tuple(out.shape[-2:])} are not multiples of {scale}")
    if not (noise >= 0 and strength >= 0):
        raise ValueError(f"noise and strength must be >= 0, got {noise!r} and {strength!r}")
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise ValueError(f"passes must be an integer >= 1, got {passes!r}")
    t2 = (strength * noise) ** 2
    if t2 == 0 and threshold == 0:
        return out
    # in the output's precision: float32 from the networks (the band split is exact to its
    # rounding), float64 where asked
    x = out if out.dtype in (torch.float32, torch.float64) else out.to(torch.float64)
    low = inband(x, scale)
    kept = x - low
    if t2 > 0:
        flat = (kept * kept).reshape(-1, 1, *kept.shape[-2:])
        energy = F.avg_pool2d(F.pad(flat, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        energy = energy.reshape(kept.shape)
        kept = kept * energy / (energy + t2)
    if threshold > 0:
        if lr is None or _scale_of(out, lr) != scale:
            raise ValueError(f"the flat gate needs the input slices of out, 1/{scale} of "
                             f"{tuple(out.shape[-2:])}")
        weight = flat_weight(lr, scale, threshold).to(x.dtype)
        kept = kept * weight
        for _ in range(passes - 1):
            kept = weight * (kept - inband(kept, scale))
    return (low + kept - inband(kept, scale)).to(out.dtype)  # the band stays P O


def _scale_of(out: Tensor, lr: Tensor) -> int:
    """The integer factor s >= 2 from ``lr`` ``(..., h, w)`` to ``out`` ``(..., s h, s w)``."""
    h, w = lr.shape[-2:] if lr.ndim >= 2 else (0, 0)
    s = out.shape[-1] // w if w else 0
    if (s < 2 or out.shape[:-2] != lr.shape[:-2]
            or tuple(out.shape[-2:]) != (h * s, w * s)):
        raise ValueError(f"out {tuple(out.shape)} is not lr {tuple(lr.shape)} upscaled by an "
                         "integer factor >= 2")
    return s
