"""A seeded random mixture of acquisition models, for training robust networks.

Each image of a stack draws one component (with the given weights) and, for every parameter
given as a ``[low, high]`` range, a value uniformly in that range; the component's model then
acquires that image. Example (YAML, ``data.acquisition``)::

    name: mixture
    scale: 2
    components:
      - {name: gaussian, sigma: [0.6, 1.4]}          # blur widths around the paper's s/2
      - {name: kspace, noise: [0.0, 0.03]}
      - {name: kspace, window: hamming, noise: [0.0, 0.02]}
    weights: [1, 1, 1]

The network input of every image is formed the same way (``input``, bicubic by default), so a
network trained on the mixture sees one input convention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dnsp.acquisition.base import (
    Acquisition,
    acquisition_from_config,
    register_acquisition,
)

__all__ = ["MixtureAcquisition"]


def _is_range(v: object) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2


@register_acquisition
class MixtureAcquisition(Acquisition):
    """Draw one component model per image (see the module docstring).

    Args:
        scale: Integer factor s >= 2, shared by every component.
        components: Component configs (``{"name": ..., **params}``); a parameter may be a
            ``[low, high]`` range drawn uniformly per image.
        weights: Relative probabilities of the components (``None``: equal).
        input: Network input mode of every image (``"bicubic"`` or ``"zerofill"``).
    """

    name = "mixture"
    command_line = False  # not simulated by dnsp degrade / given to dnsp upscale
    linear = False

    def __init__(self, scale: int = 2, components: Sequence[Mapping[str, Any]] = (),
                 weights: Sequence[float] | None = None, *, input: str = "bicubic") -> None:
        super().__init__(scale, input=input)
        if not components:
            raise ValueError("a mixture needs at least one component")
        self.components = [dict(c) for c in components]
        for c in self.components:
            if c.get("name") in (None, "mixture", "identity"):
                raise ValueError(f"invalid mixture component {c!r}")
            for key, v in c.items():
                if _is_range(v) and not float(v[0]) <= float(v[1]):
                    raise ValueError(f"range {key}={v} has low > high")
            self._draw(c, np.random.default_rng(0))  # validates every component now
        w = np.ones(len(self.components)) if weights is None else np.asarray(weights, float)
        if w.shape != (len(self.components),) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(self.components)} non-negative numbers "
                             f"with a positive sum, got {weights!r}")
        self.weights = (w / w.sum()).tolist()

    def _draw(self, comp: Mapping[str, Any], rng: np.random.Generator) -> Acquisition:
        params = {k: (float(rng.uniform(float(v[0]), float(v[1]))) if _is_range(v) else v)
                  for k, v in comp.items()}
        params["scale"] = self.scale
        return acquisition_from_config(params)

    def draw(self, rng: np.random.Generator) -> Acquisition:
        """One component model with its parameters drawn (what one image gets)."""
        k = int(rng.choice(len(self.components), p=self.weights))
        return self._draw(self.components[k], rng)

    def simulate(self, hr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Each image of ``hr`` ``(N, H, W)`` (or one ``(H, W)``) through its own drawn model.

        The draw and the noise follow ``generator`` (a seed is taken from it), so a seeded
        generator reproduces the same models and noise.
        """
        if hr.ndim < 2:
            raise ValueError(f"hr must have at least 2 dimensions, got shape {tuple(hr.shape)}")
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(seed)
        images = hr.reshape(-1, *hr.shape[-2:])
        out = torch.stack([self.draw(rng).simulate(images[i], gen)
                           for i in range(images.shape[0])])
        return out.reshape(*hr.shape[:-2], *out.shape[-2:])

    def _acquire(self, hr: Tensor) -> Tensor:
        return self.simulate(hr)

    def _params(self) -> dict[str, Any]:
        return {"components": self.components, "weights": self.weights}

    def describe(self) -> str:
        """``mixture x2 of N models``."""
        return f"mixture x{self.scale} of {len(self.components)} models"
