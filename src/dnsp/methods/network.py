"""A trained 2-D SR network as an :class:`SRMethod` (docs/architecture.md, "Methods").

The network F of the paper (Eq. 10: Y = F(X_s)) maps the bicubic-upscaled LR slice X_s to the
HR estimate; only F is used at inference (SPEC section 1). :class:`NetworkMethod` therefore

1. forms the network input from each LR slice as its acquisition model says
   (:meth:`dnsp.acquisition.Acquisition.network_input`): for the paper's ``gaussian`` model
   the centre-aligned Keys bicubic of SPEC section 4, for registered pairs (``identity``,
   scale 1) the slice itself,
2. runs the network on the upscaled slice in tiles that overlap by the network's receptive
   radius, so every output pixel sees exactly the context it would see on the whole slice and
   memory is bounded by ``max_pixels`` (not by the slice or volume size),
3. passes only the part of the intensities inside the training range [0, 1] through the
   network (SPEC sec. 2 clips at the 99.9th percentile in training); the part outside it
   (bright voxels above the percentile, negative values) is added back interpolated alone,
   so no intensity is lost and the network never extrapolates beyond what it was trained on;
   the network's estimate is clipped to [0, 1], the range of its training targets,
4. optionally skips the background: only the bounding box of the pixels above
   ``background`` (plus the receptive radius) goes through the network; outside it the output
   is the interpolated image. Pixels above the threshold get exactly the whole-slice network
   output. Skipping is off by default for registered pairs (scale 1), whose input is the LR
   scan itself rather than an estimate of the HR image,
5. optionally averages the network over ``ensemble`` flips/rotations of its input (the
   geometric self-ensemble of EDSR+, Lim et al. 2017): ``F_ens(X) = 1/K sum_k T_k^-1 F(T_k X)``
   over the first K of :data:`DIHEDRAL` (K = 1, 2, 4 or 8; K network calls per slice),
6. optionally fades what the output adds beyond the input's band where it is weak against
   the input's noise (``gate``, :func:`dnsp.ops.band_gate.band_gate`: real scans' noise is
   not turned into texture) and where the input has no edge (``flat``,
   :func:`dnsp.ops.band_gate.flat_gate`: nothing beyond the band is known away from edges),
   then projects the output onto the data with the acquisition's
   own operator (``consistency``, ``projector``; weighted by the noise), then keeps it above
   the input's minimum (``keep_range``).

Everything runs under :func:`torch.inference_mode` in float32.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import numpy as np
import torch
from torch import nn

from dnsp.acquisition import (
    Acquisition,
    AcquisitionEstimate,
    NetworkInput,
    default_acquisition,
    estimate_acquisition,
    get_acquisition,
    projection_damping,
)
from dnsp.devices import resolve_device
from dnsp.methods.tiling import (
    bbox,
    pixel_alignment,
    receptive_radius,
    tile_starts,
    torch_threads,
)
from dnsp.ops import check_scale, dihedral_inverse, dihedral_transform
from dnsp.ops.band_gate import gate_beyond_band

__all__ = [
    "CHANNELS_LAST",
    "DEFAULT_BACKGROUND",
    "DEFAULT_MAX_PIXELS",
    "DIHEDRAL",
    "ENSEMBLE_SIZES",
    "NATIVE_EXACT_BELOW",
    "PROJECT_BELOW_NOISE",
    "PROJECT_EXACT_BELOW",
    "NetworkMethod",
]

#: Default number of HR pixels per network call, overlap included (1024 x 1024).
DEFAULT_MAX_PIXELS = 1 << 20
#: Default background threshold (on the [0, 1] scale) of an upsampling acquisition.
DEFAULT_BACKGROUND = 0.02

#: The 8 flips/rotations of the square as ``(k, flip)``: rotate by k * 90 degrees, then flip
#: the columns. Ordered so that the first 2 (identity, left-right flip) and the first 4 (all
#: flips) are themselves groups.
DIHEDRAL: tuple[tuple[int, bool], ...] = (
    (0, False), (0, True), (2, True), (2, False),
    (1, False), (1, True), (3, False), (3, True),
)
#: ``consistency="auto"`` projects onto k-space data estimated to be less noisy than this
#: (fraction of the 99.9th percentile; docs/acquisition.md).
PROJECT_BELOW_NOISE = 0.015
#: Noise (fraction of the intensity scale) below which data are treated as exact by the
#: weighted projection: the estimator reads ringing as 0.65-0.71 % on noise-free k-space data.
PROJECT_EXACT_BELOW = 0.008
#: Noise up to which a scan read as k-space data at its own resolution (a native scan the
#: estimator cannot place) is trusted exactly in band: the native scans of ../shared/data read
#: 1.0-1.3 % (docs/acquisition.md, "Native scans").
NATIVE_EXACT_BELOW = 0.015
#: Default memory order of :class:`NetworkMethod` (``channels_last``): NHWC, faster on CPUs.
CHANNELS_LAST = True
#: Valid sizes of the self-ensemble (``ensemble`` of :class:`NetworkMethod`).
ENSEMBLE_SIZES = (1, 2, 4, 8)


class NetworkMethod:
    """A 2-D SR network on the acquisition's network input, tiled, in bounded memory.

    Args:
        net: A network mapping ``(B, 1, H, W)`` to ``(B, 1, H, W)`` (input on the HR grid).
        scale: The integer factor the network was trained for (>= 2); may be left out when
            ``acquisition`` is given (it must then agree with ``acquisition.scale``).
        acquisition: The acquisition model of the LR input (:mod:`dnsp.acquisition`); it says
            how the network input is formed (:meth:`~dnsp.acquisition.Acquisition.
            network_input`). Default: the paper's ``gaussian`` model at ``scale``, i.e.
            Keys bicubic pre-upsampling. Registered pairs use ``identity`` (scale 1).
        name: Name reported by the method (e.g. the pretrained model's name).
        device: Torch device to run on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``,
            ``"auto"``; :func:`dnsp.devices.resolve_device`).
        max_pixels: Largest number of HR pixels (tile area including its overlap margin)
            given to the network in one call; bounds the activation memory.
        background: Intensity (on the [0, 1] scale) at or below which a pixel is background;
            the network runs on the bounding box of the pixels above it, grown by the receptive
            radius, and the rest of the slice is the interpolated input. ``None`` runs the
            network on every pixel. ``"auto"``: :data:`DEFAULT_BACKGROUND` when the
            acquisition upsamples (scale >= 2), ``None`` for scale 1 (there the input is the
            LR scan, not an HR estimate to fall back on).
        threads: Torch intra-op threads while upscaling (``None`` keeps torch's setting).
        clip: Clip the estimate of the in-range part to [0, 1], the range of the training
            targets (SPEC sec. 2): removes the network's overshoot at hard edges (e.g. the
            border of a skull-stripped brain), as the evaluation's clipping does.
        ensemble: Number K of flips/rotations (:data:`DIHEDRAL`) the network output is
            averaged over: 1 (off), 2, 4 or 8. Costs K network calls per slice; measured
            gains are in docs/upscale.md.
        inputs: The network's input channels (:class:`dnsp.acquisition.NetworkInput`, e.g.
            zero-filled and bicubic images plus the acquisition features of each slice) for
            networks trained on several acquisitions; ``None``: the acquisition's single
            network input. Channel 0 is the image that tiling, background detection and the
            out-of-range part use.
        consistency: ``"off"``; ``"on"``: project the output onto the data
            (:meth:`dnsp.acquisition.Acquisition.project` of ``projector``, by default a
            noise-free k-space truncation at the method's scale): the measured data then come
            from the input and the network adds only what the acquisition does not measure
            (measured gains in docs/acquisition.md); ``"auto"``: with a ``projector``, the
            projection damped by the input's noise
            (:func:`dnsp.acquisition.projection_damping`); without one, ``"on"`` when the LR
            slices look like a noise-free k-space truncation
            (:func:`dnsp.acquisition.estimate_acquisition`: ``kspace`` with estimated noise
            below :data:`PROJECT_BELOW_NOISE`); decided per call of :meth:`upscale_stack`,
            or once per volume by :meth:`for_volume`. On noisy inputs the network's
            denoising of the measured data is kept.
        projector: The linear acquisition model the input is known to come from (the user
            named it), whose operator the projection uses; ``None``: k-space truncation.
        gate: Strength k of the out-of-band noise gate (:func:`dnsp.ops.band_gate.band_gate`;
            0: off). Needs the input's noise: fixed per volume by :meth:`for_volume`, else
            measured on each call. :meth:`for_volume` turns it off for a volume read
            confidently as k-space with background noise
            (:attr:`dnsp.acquisition.AcquisitionEstimate.plain_kspace`).
        flat: Edge contrast tau of the flat gate (:func:`dnsp.ops.band_gate.flat_gate`;
            0: off): what the network adds beyond the input's band is faded where the
            input has no edge stronger than tau per input voxel.
        flat_passes: Passes n >= 1 of the flat gate (``passes`` of
            :func:`dnsp.ops.band_gate.flat_gate`); :class:`dnsp.methods.ByEstimate` sets
            :data:`~dnsp.ops.band_gate.SMOOTH_READ_PASSES` for volumes read as a smooth band
            limit.
        keep_range: Keep the output at or above the input's minimum (the projection and
            sharpening otherwise undershoot at the edge of a skull-stripped brain).
        exact_below: Noise level below which the weighted projection treats the data as
            exact (``sigma_0`` of :func:`dnsp.acquisition.projection_damping`); ``None``:
            :data:`PROJECT_EXACT_BELOW`. Scans the estimator cannot place are read as
            k-space data at their own resolution and trusted up to
            :data:`NATIVE_EXACT_BELOW` (:class:`dnsp.methods.by_estimate.ByEstimate`).
        channels_last: Run the network with its weights and inputs in channels-last memory
            order (NHWC), which the CPU convolution backend (oneDNN) computes about 1.8x
            faster than the default order for these networks (docs/upscale.md); the network
            module given is converted in place. Results agree with the default order to
            float32 rounding (about 1e-6), not bit for bit. ``None``: :data:`CHANNELS_LAST`.

    Raises:
        ValueError: For a non-integer scale below 2 (without an acquisition), a scale that
            differs from the acquisition's, ``max_pixels`` too small for the margin, or an
            ``ensemble`` size not in :data:`ENSEMBLE_SIZES`.
        InputError: For an unknown or unavailable device.
    """

    #: slices are independent: any batch of consecutive slices may be given
    whole_stack = False
    #: :meth:`for_volume` fixes ``consistency="auto"`` once per volume
    per_volume = True

    def __init__(
        self,
        net: nn.Module,
        scale: int | None = None,
        *,
        acquisition: Acquisition | None = None,
        name: str = "network",
        device: str | torch.device = "cpu",
        max_pixels: int = DEFAULT_MAX_PIXELS,
        background: float | Literal["auto"] | None = "auto",
        threads: int | None = None,
        clip: bool = True,
        ensemble: int = 1,
        inputs: NetworkInput | None = None,
        consistency: Literal["off", "on", "auto"] = "off",
        channels_last: bool | None = None,
        projector: Acquisition | None = None,
        gate: float = 0.0,
        flat: float = 0.0,
        flat_passes: int = 1,
        keep_range: bool = False,
        exact_below: float | None = None,
    ) -> None:
        if ensemble not in ENSEMBLE_SIZES:
            raise ValueError(f"ensemble must be one of {ENSEMBLE_SIZES}, got {ensemble!r}")
        if acquisition is None:
            acquisition = default_acquisition(check_scale(scale, 2))
        elif scale is not None and scale != acquisition.scale:
            raise ValueError(f"scale {scale!r} differs from the acquisition's scale "
                             f"{acquisition.scale} ({acquisition.name})")
        self.acquisition = acquisition
        self.scale = acquisition.scale
        if inputs is not None and inputs.scale != self.scale:
            raise ValueError(f"the network input is for x{inputs.scale}, not x{self.scale}")
        self.inputs = inputs
        if consistency not in ("off", "on", "auto"):
            raise ValueError(f"consistency must be 'off', 'on' or 'auto', got {consistency!r}")
        self.consistency = consistency
        if projector is not None and (projector.scale != self.scale or not projector.linear):
            raise ValueError(f"the projector must be a linear model at x{self.scale}, got "
                             f"{projector.describe()}")
        self.projector = projector
        #: damping of the projection when ``consistency`` is "on" (set by :meth:`for_volume`)
        self.damping = 0.0
        if not gate >= 0:
            raise ValueError(f"gate must be >= 0, got {gate!r}")
        self.gate = float(gate)
        if not flat >= 0:
            raise ValueError(f"flat must be >= 0, got {flat!r}")
        self.flat = float(flat)
        if isinstance(flat_passes, bool) or not isinstance(flat_passes, int) or flat_passes < 1:
            raise ValueError(f"flat_passes must be an integer >= 1, got {flat_passes!r}")
        self.flat_passes = flat_passes
        self.keep_range = bool(keep_range)
        self.exact_below = PROJECT_EXACT_BELOW if exact_below is None else float(exact_below)
        if not self.exact_below >= 0:
            raise ValueError(f"exact_below must be >= 0, got {exact_below!r}")
        #: why this network serves the volume (set by a router such as ``ByEstimate``)
        self.served = ""
        #: the input's noise (fraction of the intensity scale), fixed by :meth:`for_volume`
        self.noise: float | None = None
        # the k-space model of the projection (its projector is cached per slice shape)
        self._kspace = get_acquisition("kspace", scale=self.scale) if self.scale > 1 else None
        self.device = resolve_device(device)
        self.net = net.to(self.device).eval()
        if channels_last is None:
            channels_last = CHANNELS_LAST
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.net.to(memory_format=self.memory_format)
        self.name = name
        # tiles and crops start on the network's grid (multiples of ``align``) so that they
        # reproduce the whole-slice output exactly
        self.align = pixel_alignment(self.net)
        self.margin = -(-receptive_radius(self.net) // self.align) * self.align
        side = math.isqrt(int(max_pixels))
        tile = side - 2 * self.margin
        tile -= tile % self.align
        if tile < 1:
            raise ValueError(
                f"max_pixels={max_pixels} leaves no room inside a margin of {self.margin} pixels"
            )
        self.tile = tile
        if background == "auto":
            background = DEFAULT_BACKGROUND if self.scale > 1 else None
        self.background = background
        self.threads = threads
        self.clip = bool(clip)
        self.ensemble = int(ensemble)

    @property
    def gates(self) -> str:
        """The gates in effect, for reports: ``"noise gate 2, flat gate 0.04"``, with
        ``" x5"`` for 5 passes of the flat gate ("" if none)."""
        words = [f"noise gate {self.gate:g}"] if self.gate > 0 else []
        if self.flat > 0:
            passes = f" x{self.flat_passes}" if self.flat_passes > 1 else ""
            words.append(f"flat gate {self.flat:g}{passes}")
        return ", ".join(words)

    def _run_ensemble(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``T^-1 F(T x)`` over the first ``ensemble`` transforms T of :data:`DIHEDRAL`."""
        if self.ensemble == 1:
            return self._run_net(x)
        acc = torch.zeros(x.shape[-2:], dtype=x.dtype)
        for k, flip in DIHEDRAL[: self.ensemble]:
            index = k + 4 * flip  # numbering of dihedral_transform
            y = self._run_net(dihedral_transform(x, index).contiguous())
            acc += dihedral_transform(y, dihedral_inverse(index))
        return acc / self.ensemble

    def _run_net(self, x: torch.Tensor) -> torch.Tensor:
        """Network on an input ``(H, W)`` or ``(C, H, W)`` on the HR grid, tiled with overlap."""
        h, w = x.shape[-2:]
        m, t = self.margin, self.tile
        out = torch.empty((h, w), dtype=x.dtype)
        rows, cols = tile_starts(h, t, self.align), tile_starts(w, t, self.align)
        for r0 in rows:
            for c0 in cols:
                r1 = h if r0 == rows[-1] else min(r0 + t, h)
                c1 = w if c0 == cols[-1] else min(c0 + t, w)
                a0, a1 = max(r0 - m, 0), min(r1 + m, h)
                b0, b1 = max(c0 - m, 0), min(c1 + m, w)
                patch = x[..., a0:a1, b0:b1].to(self.device)
                patch = patch[None, None] if x.ndim == 2 else patch[None]
                y = self.net(patch.contiguous(memory_format=self.memory_format))[0, 0]
                y = y.to("cpu", torch.float32)
                out[r0:r1, c0:c1] = y[r0 - a0:r1 - a0, c0 - b0:c1 - b0]
        return out

    def upscale_slice(self, lr: np.ndarray) -> np.ndarray:
        """Upscale one LR slice ``(h, w)`` in [0, 1] to ``(h * s, w * s)`` (float32)."""
        arr = np.asarray(lr, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError(f"a slice must be 2-D, got shape {arr.shape}")
        return self.upscale_stack(arr[None], self.scale)[0]

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """SRMethod protocol: ``(N, h, w)`` float32 in [0, 1] -> ``(N, h * s, w * s)``.

        Values outside [0, 1] are accepted: ``clip(lr, 0, 1)`` goes through the network and
        ``lr - clip(lr, 0, 1)`` is added back through the acquisition's network input
        (bicubic for the paper's model; exact for in-range input).

        Args:
            lr: Consecutive axial LR slices.
            scale: Must equal the acquisition's scale (the network's training factor).

        Returns:
            The HR estimates (float32): the in-range part in [0, 1] when ``clip``, plus the
            interpolated out-of-range part.

        Raises:
            ValueError: If ``scale`` differs from the trained factor or ``lr`` is not 3-D.
        """
        if int(scale) != self.scale:
            raise ValueError(
                f"network {self.name!r} was trained for x{self.scale}, not x{scale}"
            )
        arr = np.asarray(lr, dtype=np.float32)
        if arr.ndim != 3:
            raise ValueError(f"lr must be (N, h, w), got shape {arr.shape}")
        s = self.scale
        out = np.empty((arr.shape[0], arr.shape[1] * s, arr.shape[2] * s), dtype=np.float32)
        with torch_threads(self.threads), torch.inference_mode():
            for i in range(arr.shape[0]):
                lr_i = torch.from_numpy(np.ascontiguousarray(arr[i]))
                inside = lr_i.clamp(0.0, 1.0)
                channels = None if self.inputs is None else self.inputs(inside)
                xs = (self.acquisition.network_input(inside) if channels is None
                      else channels[0].clone())
                # intensities outside the training range [0, 1] (above the 99.9th percentile,
                # negative values) bypass the network: their part is only interpolated
                rest = None
                if not torch.equal(inside, lr_i):
                    rest = (self.acquisition.network_input(lr_i - inside) if self.inputs is None
                            else self.inputs.image(lr_i - inside))
                if self.background is None:
                    box: tuple[int, int, int, int] | None = (0, xs.shape[0], 0, xs.shape[1])
                else:
                    box = bbox(xs.numpy() > self.background, self.margin)
                if box is not None:
                    r0, r1, c0, c1 = box
                    r0, c0 = r0 - r0 % self.align, c0 - c0 % self.align
                    # ends on the grid too, so that flipped crops keep the network's grid
                    r1 = min(r1 + (-r1) % self.align, xs.shape[0])
                    c1 = min(c1 + (-c1) % self.align, xs.shape[1])
                    net_in = xs if channels is None else channels
                    xs[r0:r1, c0:c1] = self._run_ensemble(
                        net_in[..., r0:r1, c0:c1].contiguous())
                if self.clip:
                    xs.clamp_(0.0, 1.0)
                if rest is not None:
                    xs += rest
                out[i] = xs.numpy()
        noise = self.noise
        if noise is None and (self.gate > 0 or (self.consistency == "auto"
                                                 and self.projector is not None)):
            noise = estimate_acquisition(np.clip(arr, 0.0, 1.0), s).noise
        if s > 1 and ((self.gate > 0 and noise) or self.flat > 0):
            out = gate_beyond_band(torch.from_numpy(out), s, noise=noise or 0.0,
                                   strength=self.gate, lr=torch.from_numpy(arr),
                                   threshold=self.flat, passes=self.flat_passes).numpy()
        out = self._data_consistency(arr, out, noise)
        if self.keep_range:
            np.maximum(out, arr.min(), out=out)
        return out

    def wants_projection(self, lr: np.ndarray) -> bool:
        """Whether ``consistency`` projects the output of the LR slices ``lr`` (N, h, w)."""
        return self._damping(lr, None) is not None

    def _damping(self, lr: np.ndarray, noise: float | None) -> float | None:
        """The projection's damping for the LR slices ``lr`` (``None``: no projection)."""
        if self.consistency == "off" or self.scale < 2 or min(lr.shape[-2:]) < 4:
            return None
        if self.consistency == "on":
            return self.damping
        if self.projector is not None:
            if noise is None:
                noise = estimate_acquisition(np.clip(lr, 0.0, 1.0), self.scale).noise
            return projection_damping(noise, self.exact_below, PROJECT_BELOW_NOISE)
        on = self._projects(estimate_acquisition(np.clip(lr, 0.0, 1.0), self.scale))
        return 0.0 if on else None

    @staticmethod
    def _projects(estimate: AcquisitionEstimate | None) -> bool:
        """Noise-free k-space data (the projection's condition) by an acquisition estimate."""
        return (estimate is not None and estimate.acquisition.name == "kspace"
                and estimate.noise < PROJECT_BELOW_NOISE)

    def for_volume(self, lr_sample: np.ndarray | None = None, *,
                   estimate: AcquisitionEstimate | None = None) -> NetworkMethod:
        """This method with ``consistency="auto"`` decided once for a volume.

        Args:
            lr_sample: ``(N, h, w)`` slices of the volume in [0, 1] (e.g.
                :func:`dnsp.acquisition.estimation_sample`), estimated here when
                ``estimate`` is not given.
            estimate: The volume's acquisition estimate
                (:func:`dnsp.acquisition.estimate_volume`; ``None`` with no ``lr_sample``:
                not measurable, no projection): the volume pipeline estimates once and
                passes it, so that the report and the method agree.

        Returns:
            ``self`` unless ``consistency`` is ``"auto"``; else a shallow copy (same network)
            with ``"on"`` or ``"off"``, so that every batch of the volume is treated alike.
        """
        if self.consistency != "auto" and self.gate == 0:
            return self  # the flat gate needs nothing of the volume
        fixed = copy.copy(self)
        if lr_sample is not None and estimate is None:
            estimate = estimate_acquisition(np.clip(lr_sample, 0.0, 1.0), self.scale)
        fixed.noise = None if estimate is None else float(estimate.noise)
        if estimate is not None and estimate.plain_kspace:
            # the gate answers noise the network was not trained on; a confident k-space
            # read with background noise is its training domain (the gate cost 0.13-0.17 dB
            # there at x4 and x2, docs/acquisition.md)
            fixed.gate = 0.0
        if self.consistency == "auto":
            on = self.scale >= 2 and (fixed.noise is not None if self.projector is not None
                                      else self._projects(estimate))
            fixed.consistency = "on" if on else "off"
            damped = on and self.projector is not None and fixed.noise is not None
            fixed.damping = (projection_damping(fixed.noise, self.exact_below,
                                                PROJECT_BELOW_NOISE) if damped else 0.0)
        return fixed

    def _data_consistency(self, lr: np.ndarray, out: np.ndarray, noise: float | None
                          ) -> np.ndarray:
        """The output projected onto the data, damped as :meth:`_damping` says."""
        model = self.projector or self._kspace
        damping = None if model is None else self._damping(lr, noise)
        if damping is None:
            return out
        proj = model.project(torch.from_numpy(out), torch.from_numpy(lr), damping).numpy()
        return proj.astype(np.float32, copy=False)
