"""LFMRI (Bahrami, Shi, Rekik and Shen, DLMIA 2016): a CNN on appearance and anatomical features.

Bahrami et al. reconstruct 7T-like from 3T images with a CNN whose input combines the
intensity (appearance) patch with tissue probability maps (anatomical features). No public
code exists; this is the project's reading (SPEC section 5), in 2-D to match the slice-wise
protocol of the DNSP paper:

* anatomical features: a three-class tissue probability map computed by
  :class:`dnsp.nets.tissue.TissueProbability` (a Gaussian mixture on intensities inside the
  head, fitted once on the training images with :meth:`LFMRI.fit_to_data`);
* network: early fusion of the 1 + 3 channels, ``depth`` 3x3 convolutions of ``n_feats``
  filters with ReLU, and a final 3x3 convolution to one channel; the input intensity is added
  to the output (residual learning) unless ``input_skip=False``.

The module keeps the :mod:`dnsp.nets` contract ``(B, 1, H, W) -> (B, 1, H, W)``: the
probability maps are computed inside ``forward`` from the fitted mixture (no gradient flows
through them), so inference needs only the intensity image.
"""

from __future__ import annotations

import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn

from dnsp.nets.registry import register_network
from dnsp.nets.tissue import GaussianMixture1D, TissueProbability

__all__ = ["LFMRI"]


@register_network("lfmri")
class LFMRI(nn.Module):
    """Appearance + tissue-probability CNN.

    Args:
        n_feats: Filters per hidden convolution.
        depth: Number of hidden convolutions (each 3x3 followed by ReLU), at least 1.
        input_skip: Add the input intensity to the output.
    """

    spatial_dims = 2
    needs_fit = True

    def __init__(self, n_feats: int = 64, depth: int = 6, input_skip: bool = True) -> None:
        super().__init__()
        if n_feats < 1 or depth < 1:
            raise ValueError(f"n_feats and depth must be positive, got {n_feats}, {depth}")
        self.tissue = TissueProbability()
        layers: list[nn.Module] = [nn.Conv2d(4, n_feats, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(n_feats, n_feats, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(n_feats, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.input_skip = bool(input_skip)

    def fit_to_data(self, images: ArrayLike | Tensor) -> GaussianMixture1D:
        """Fit the tissue model on training intensities (called once before training)."""
        return self.tissue.fit(images)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(B, 1, H, W)`` intensities to ``(B, 1, H, W)``."""
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"LFMRI expects (B, 1, H, W) input, got {tuple(x.shape)}")
        with torch.no_grad():
            probs = self.tissue(x).to(x.dtype)
        y = self.body(torch.cat([x, probs], dim=1))
        return y + x if self.input_skip else y
