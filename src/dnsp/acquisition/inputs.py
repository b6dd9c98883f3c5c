"""How a network's input channels are formed from an LR slice (on the HR grid).

The paper's networks take one channel, the Keys bicubic upscaling of the LR slice (Eq. 10).
Networks trained on a mixture of acquisitions may take more:

* ``bicubic``: centre-aligned Keys bicubic (:func:`dnsp.ops.bicubic_upscale`);
* ``zerofill``: zero-filled (sinc) interpolation (:func:`dnsp.ops.kspace.zero_fill_upscale`),
  the exact inverse of a noise-free k-space truncation on band-limited images;
* ``features``: the three acquisition features of the slice
  (:func:`dnsp.acquisition.estimate.acquisition_features`) as constant channels, so that the
  network is told what the acquisition looks like; ``spectral``, ``detail`` and
  ``background`` add one of them each (the shipped mixture models use ``spectral`` and
  ``background``: ``detail`` depends on the head's content as much as on the acquisition).

Channel 0 is always an image channel: it is what tiling, background detection and the output
skip connection use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dnsp.acquisition.estimate import FEATURE_NAMES, acquisition_features
from dnsp.ops.kspace import zero_fill_upscale
from dnsp.ops.resize import bicubic_upscale
from dnsp.ops.scale import check_scale

__all__ = ["CHANNELS", "NetworkInput"]

#: Channel kinds a :class:`NetworkInput` can form.
CHANNELS = ("bicubic", "zerofill", "features", *FEATURE_NAMES)
_IMAGES = ("bicubic", "zerofill")


@dataclass(frozen=True)
class NetworkInput:
    """Forms the ``C`` input channels of a network from LR slices.

    Args:
        scale: The upscaling factor s (1: the LR image is already on the HR grid).
        channels: Channel kinds, the first one an image (``bicubic`` or ``zerofill``);
            image channels come first, then the feature channels in the order given
            (``features`` adds all three).

    Raises:
        ValueError: Unknown or repeated kinds, or a first kind that is not an image.
    """

    scale: int = 2
    channels: tuple[str, ...] = ("bicubic",)

    def __post_init__(self) -> None:
        check_scale(self.scale)
        chans = tuple(self.channels)
        object.__setattr__(self, "channels", chans)
        bad = [c for c in chans if c not in CHANNELS]
        if bad or not chans or len(set(chans)) != len(chans):
            raise ValueError(f"channels must be distinct kinds among {', '.join(CHANNELS)}, "
                             f"got {list(chans)}")
        if chans[0] not in _IMAGES:
            raise ValueError(f"the first channel must be an image (bicubic or zerofill), "
                             f"got {chans[0]!r}")

    @property
    def n_channels(self) -> int:
        """Number of channels the network receives."""
        return sum(len(FEATURE_NAMES) if c == "features" else 1 for c in self.channels)

    @property
    def _feature_index(self) -> list[int]:
        out: list[int] = []
        for c in self.channels:
            if c == "features":
                out.extend(range(len(FEATURE_NAMES)))
            elif c in FEATURE_NAMES:
                out.append(FEATURE_NAMES.index(c))
        return out

    def _image(self, kind: str, lr: Tensor) -> Tensor:
        if self.scale == 1:
            return lr
        if kind == "zerofill":
            return zero_fill_upscale(lr, self.scale)
        return bicubic_upscale(lr, self.scale)

    def image(self, lr: Tensor) -> Tensor:
        """Channel 0 alone: ``(..., h, w)`` -> ``(..., h * s, w * s)`` (the fallback image)."""
        return self._image(self.channels[0], lr)

    def __call__(self, lr: Tensor, features: np.ndarray | None = None) -> Tensor:
        """Channels of LR slices ``(N, h, w)`` (or one ``(h, w)``): ``(N, C, h*s, w*s)``.

        Args:
            lr: LR slices (float).
            features: Precomputed ``(N, 3)`` features (``None``: measured on ``lr``).

        Returns:
            The input tensor (``(C, H, W)`` for one slice).
        """
        single = lr.ndim == 2
        x = lr[None] if single else lr
        if x.ndim != 3:
            raise ValueError(f"lr must be (N, h, w) or (h, w), got shape {tuple(lr.shape)}")
        parts = [self._image(kind, x)[:, None] for kind in self.channels if kind in _IMAGES]
        index = self._feature_index
        if index:
            feats = np.stack([acquisition_features(s) for s in x.detach().cpu().numpy()]) \
                if features is None else np.asarray(features, np.float32).reshape(-1, 3)
            f = torch.as_tensor(feats[:, index], dtype=x.dtype, device=x.device)
            h, w = x.shape[-2] * self.scale, x.shape[-1] * self.scale
            parts.append(f[:, :, None, None].expand(-1, -1, h, w))
        out = torch.cat(parts, dim=1)
        return out[0] if single else out

    def to_config(self) -> dict[str, Any]:
        """``{"channels": [...]}`` (the scale travels with the model)."""
        return {"channels": list(self.channels)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | Sequence[str] | None, scale: int
                    ) -> NetworkInput:
        """From ``{"channels": [...]}``, a list of kinds, or ``None`` (one bicubic channel)."""
        if cfg is None:
            return cls(scale)
        chans = cfg.get("channels", ("bicubic",)) if isinstance(cfg, Mapping) else cfg
        return cls(scale, tuple(chans))
