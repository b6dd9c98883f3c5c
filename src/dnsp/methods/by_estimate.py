"""The robust default of ``dnsp upscale``: each volume served by the model for what it reads as.

With ``--acquisition auto`` (nothing named) the input's acquisition is estimated once per
volume (:func:`dnsp.acquisition.estimate_volume`). :class:`ByEstimate` then hands the volume
to one of two networks (issue 28, docs/acquisition.md "Native scans"):

* read as a **smooth band limit** (``gaussian``: the paper's blur, an apodised k-space,
  an interpolated image) -> the default trained on the mixture of acquisitions, which
  undoes the blur, as before, its flat gate with
  :data:`~dnsp.ops.band_gate.SMOOTH_READ_PASSES` passes (the deblurred edges' out-of-band
  tails kept out of flat tissue: docs/acquisition.md, "Flat gate");
* read as **k-space** (``kspace``), or **unknown** -> the model for k-space acquisitions
  (``dnsp-edsr-ks-x2``), projected onto the data with the k-space operator
  (:meth:`dnsp.acquisition.Acquisition.project`), damped by the input's noise. A scan the
  estimator cannot place is what a scan at its own resolution is, a k-space acquisition:
  its data are trusted exactly up to
  :data:`~dnsp.methods.network.NATIVE_EXACT_BELOW` noise, because on real native scans the
  networks' in-band changes amplify the scan's (correlated) noise into a worm-like texture
  instead of removing it.

Both networks keep their noise gate and range floor. :func:`dnsp.methods.build_method` builds
a router only for scales with a k-space model of their own (x2); at x3 and x4 the default
network serves every volume with its own rule (the estimator reads some blurred x4 heads as
unknown, and the k-space reading would not undo their blur). The per-file line says which network
served and why (:attr:`NetworkMethod.served`).
"""

from __future__ import annotations

import copy

import numpy as np

from dnsp.acquisition import AcquisitionEstimate, estimate_volume
from dnsp.methods.network import NATIVE_EXACT_BELOW, PROJECT_EXACT_BELOW, NetworkMethod
from dnsp.ops.band_gate import SMOOTH_READ_PASSES

__all__ = ["ByEstimate"]


class ByEstimate:
    """Route each volume to the network for the acquisition its estimate reads.

    Args:
        smooth: The network for smooth band limits (and for volumes too small to estimate).
        sharp: The network for k-space data and for scans the estimator cannot place; its
            ``projector`` must be the k-space model at the same scale.
        name: Name reported for the pair (default ``"<smooth> | <sharp> (by estimate)"``).

    Raises:
        ValueError: Networks of different scales, or a ``sharp`` network without a k-space
            projector.
    """

    #: slices are independent
    whole_stack = False
    #: :meth:`for_volume` picks the network once per volume
    per_volume = True

    def __init__(self, smooth: NetworkMethod, sharp: NetworkMethod, name: str | None = None
                 ) -> None:
        if smooth.scale != sharp.scale:
            raise ValueError(f"the networks are for x{smooth.scale} and x{sharp.scale}")
        if sharp.projector is None or sharp.projector.name != "kspace":
            raise ValueError("the sharp network must project onto k-space data "
                             "(projector=kspace)")
        self.smooth = smooth
        self.sharp = sharp
        self.scale = smooth.scale
        self.name = name or (smooth.name if smooth.name == sharp.name
                             else f"{smooth.name} | {sharp.name} (by estimate)")

    def route(self, estimate: AcquisitionEstimate | None) -> NetworkMethod:
        """The network (not yet fixed for the volume) that serves ``estimate``, with its
        :attr:`~NetworkMethod.served` reason set."""
        if estimate is None or estimate.label == "gaussian":
            chosen = copy.copy(self.smooth)
            if estimate is not None:
                chosen.flat_passes = SMOOTH_READ_PASSES
            chosen.served = ("robust default: read as a smooth band limit and deblurred; "
                             "for a scan at its own resolution, --acquisition kspace keeps "
                             "it as acquired" if estimate
                             else "robust default: too small to estimate")
            return chosen
        chosen = copy.copy(self.sharp)
        if estimate.label == "kspace":
            chosen.exact_below = PROJECT_EXACT_BELOW
            chosen.served = "read as k-space: its model, projected onto the data"
        else:
            chosen.exact_below = NATIVE_EXACT_BELOW
            chosen.served = ("unknown: read as k-space at its own resolution, its model, "
                             "projected onto the data")
        return chosen

    def for_volume(self, lr_sample: np.ndarray | None = None, *,
                   estimate: AcquisitionEstimate | None = None) -> NetworkMethod:
        """The network serving one volume, fixed for it (:meth:`NetworkMethod.for_volume`).

        Args:
            lr_sample: ``(N, h, w)`` slices of the volume in [0, 1], estimated here
                (:func:`dnsp.acquisition.estimate_volume`) when ``estimate`` is not given.
            estimate: The volume's estimate (the volume pipeline passes its one estimate).
        """
        if estimate is None and lr_sample is not None:
            estimate = estimate_volume(np.asarray(lr_sample, dtype=np.float32), self.scale)
        return self.route(estimate).for_volume(estimate=estimate)

    def upscale_stack(self, lr: np.ndarray, scale: int) -> np.ndarray:
        """SRMethod protocol: ``(N, h, w)`` -> ``(N, h * s, w * s)``, routed on ``lr`` itself
        (the volume pipeline routes once per volume with :meth:`for_volume` instead)."""
        return self.for_volume(np.asarray(lr, dtype=np.float32)).upscale_stack(lr, scale)
