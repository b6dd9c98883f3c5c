"""A simple three-class tissue segmentation giving probability maps (anatomical features of LFMRI).

Bahrami et al. (DLMIA 2016) feed a CNN with tissue probability maps of grey matter, white
matter and CSF besides the intensity patch. The project has no atlas-based segmenter, so it
uses a one-dimensional Gaussian mixture on intensities inside the head:

1. foreground threshold: the lowest of the 4-class multi-Otsu thresholds (scikit-image) of all
   fitting intensities, i.e. background is treated as a fourth, darkest class (a plain 2-class
   Otsu threshold would cut between dark and bright tissue, not between air and tissue);
2. initial classes: the 3-class multi-Otsu thresholds of the foreground intensities;
3. EM refinement of the three Gaussians (means, standard deviations, weights) on the foreground.

Classes are ordered by increasing mean intensity (for T1 weighting: CSF, grey matter, white
matter). The posterior probabilities are computed in torch, in float32 even under autocast, and
set to zero outside the foreground, so the maps can be computed for any slice at train or
inference time from the fitted parameters, which live in module buffers (and so in checkpoints).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numpy.typing import ArrayLike
from skimage.filters import threshold_multiotsu
from torch import Tensor, nn

__all__ = ["GaussianMixture1D", "TissueProbability", "fit_tissue_mixture"]

N_CLASSES = 3


class GaussianMixture1D:
    """Parameters of a fitted 1-D three-class Gaussian mixture plus the foreground threshold."""

    def __init__(
        self, means: np.ndarray, stds: np.ndarray, weights: np.ndarray, threshold: float
    ) -> None:
        self.means = np.asarray(means, dtype=np.float64)
        self.stds = np.asarray(stds, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.threshold = float(threshold)


def fit_tissue_mixture(
    images: ArrayLike | Tensor,
    n_iter: int = 50,
    max_samples: int = 200_000,
    seed: int = 0,
) -> GaussianMixture1D:
    """Fit the foreground threshold and the three-class mixture to intensities.

    Args:
        images: Any array of intensities (e.g. ``(N, 1, H, W)`` training slices or patches).
        n_iter: EM iterations after the multi-Otsu initialisation.
        max_samples: Intensities used for the fit (a fixed-seed random subset of this size).
        seed: Seed of the subset.

    Returns:
        The fitted :class:`GaussianMixture1D`.

    Raises:
        ValueError: If the intensities are not finite or have too few distinct values.
    """
    if isinstance(images, Tensor):
        values = images.detach().to(torch.float64).cpu().numpy().ravel()
    else:
        values = np.asarray(images, dtype=np.float64).ravel()
    if values.size < 16 or not np.all(np.isfinite(values)):
        raise ValueError("tissue model needs at least 16 finite intensities")
    if np.ptp(values) <= 0:
        raise ValueError("tissue model needs intensities that are not all equal")
    if values.size > max_samples:
        values = np.random.default_rng(seed).choice(values, size=max_samples, replace=False)
    threshold = float(threshold_multiotsu(values, classes=N_CLASSES + 1)[0])
    fg = values[values > threshold]
    if fg.size < 3 * N_CLASSES or np.unique(fg).size < N_CLASSES:
        raise ValueError("too few distinct foreground intensities for a 3-class tissue model")
    t1, t2 = threshold_multiotsu(fg, classes=N_CLASSES)
    labels = np.digitize(fg, [t1, t2])
    floor = max(1e-4, 1e-3 * float(np.ptp(fg)))
    means = np.array([fg[labels == k].mean() if np.any(labels == k) else (t1, t2, fg.max())[k]
                      for k in range(N_CLASSES)])
    stds = np.array([max(fg[labels == k].std(), floor) if np.sum(labels == k) > 1 else floor
                     for k in range(N_CLASSES)])
    weights = np.array([max(np.mean(labels == k), 1e-3) for k in range(N_CLASSES)])
    weights /= weights.sum()
    for _ in range(n_iter):
        resp = _responsibilities(fg, means, stds, weights)
        nk = resp.sum(axis=0) + 1e-12
        means = (resp * fg[:, None]).sum(axis=0) / nk
        stds = np.sqrt((resp * (fg[:, None] - means) ** 2).sum(axis=0) / nk)
        stds = np.maximum(stds, floor)
        weights = nk / nk.sum()
    order = np.argsort(means)
    return GaussianMixture1D(means[order], stds[order], weights[order], threshold)


def _responsibilities(
    x: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    logp = (
        np.log(weights)
        - np.log(stds)
        - 0.5 * math.log(2 * math.pi)
        - 0.5 * ((x[:, None] - means) / stds) ** 2
    )
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


class TissueProbability(nn.Module):
    """Maps intensities ``(B, 1, *spatial)`` to class posteriors ``(B, 3, *spatial)``.

    The mixture parameters are buffers filled by :meth:`fit`; calling the module before
    fitting raises ``RuntimeError``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("means", torch.zeros(N_CLASSES))
        self.register_buffer("stds", torch.ones(N_CLASSES))
        self.register_buffer("weights", torch.full((N_CLASSES,), 1.0 / N_CLASSES))
        self.register_buffer("threshold", torch.zeros(()))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def fit(self, images: ArrayLike | Tensor, **kwargs: int) -> GaussianMixture1D:
        """Fit the mixture to ``images`` (see :func:`fit_tissue_mixture`) and store it."""
        gmm = fit_tissue_mixture(images, **kwargs)
        dev = self.means.device
        self.means.copy_(torch.as_tensor(gmm.means, dtype=torch.float32, device=dev))
        self.stds.copy_(torch.as_tensor(gmm.stds, dtype=torch.float32, device=dev))
        self.weights.copy_(torch.as_tensor(gmm.weights, dtype=torch.float32, device=dev))
        self.threshold.fill_(gmm.threshold)
        self.fitted.fill_(True)
        return gmm

    def forward(self, x: Tensor) -> Tensor:
        """Posterior probability of each class, zero outside the foreground."""
        if not bool(self.fitted):
            raise RuntimeError("tissue model is not fitted: call fit(training_images) first")
        with torch.autocast(device_type=x.device.type, enabled=False):
            v = x[:, :1].float()
            shape = (1, N_CLASSES) + (1,) * (v.dim() - 2)
            mu, sd, w = (t.view(shape) for t in (self.means, self.stds, self.weights))
            logp = torch.log(w) - torch.log(sd) - 0.5 * ((v - mu) / sd) ** 2
            post = torch.softmax(logp, dim=1)
            return post * (v > self.threshold).float()
