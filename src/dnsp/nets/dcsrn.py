"""DCSRN (Chen, Xie, Christodoulou, Zhou, Li and Li, ISBI 2018), SPEC section 5.

A densely connected network on image patches at the target resolution: an initial 3x3x3
convolution with ``2 k`` filters, one dense block of ``n_units`` units, each unit
``BatchNorm - ELU - Conv 3x3x3`` producing ``k`` (the growth rate) new feature maps that are
concatenated to all earlier ones, and a 1x1x1 output convolution over the concatenation of
all feature maps (``2k + n_units k`` channels). Paper configuration: 4 units, k = 24.

``dcsrn`` is the original 3-D network on ``(B, 1, D, H, W)`` patches; ``dcsrn2d`` is the same
design with 2-D layers on ``(B, 1, H, W)`` slices, for slice-wise comparison with the other
networks. Padding keeps the spatial size ("same").
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dnsp.nets.registry import register_network

__all__ = ["DCSRN", "DCSRN2d", "DenseUnit"]


def _layers(dims: int) -> tuple[type[nn.Module], type[nn.Module]]:
    if dims == 2:
        return nn.Conv2d, nn.BatchNorm2d
    if dims == 3:
        return nn.Conv3d, nn.BatchNorm3d
    raise ValueError(f"dims must be 2 or 3, got {dims}")


class DenseUnit(nn.Module):
    """One BN-ELU-Conv unit of the dense block (``dims``-D, 3^dims kernel, ``growth`` outputs)."""

    def __init__(self, in_channels: int, growth: int, dims: int) -> None:
        super().__init__()
        conv, norm = _layers(dims)
        self.norm = norm(in_channels)
        self.act = nn.ELU(inplace=False)
        self.conv = conv(in_channels, growth, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """New ``growth`` feature maps from all earlier ones."""
        return self.conv(self.act(self.norm(x)))


class _DCSRNBase(nn.Module):
    spatial_dims = 3

    def __init__(
        self,
        growth: int = 24,
        n_units: int = 4,
        in_channels: int = 1,
        input_skip: bool = False,
    ) -> None:
        super().__init__()
        if growth < 1 or n_units < 1 or in_channels < 1:
            raise ValueError(
                f"growth, n_units and in_channels must be positive, got {growth}, {n_units}, "
                f"{in_channels}"
            )
        conv, _ = _layers(self.spatial_dims)
        self.first = conv(in_channels, 2 * growth, 3, padding=1)
        channels = 2 * growth
        units = []
        for _ in range(n_units):
            units.append(DenseUnit(channels, growth, self.spatial_dims))
            channels += growth
        self.units = nn.ModuleList(units)
        self.out = conv(channels, 1, 1)
        self.input_skip = bool(input_skip)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(B, C, *spatial)`` to ``(B, 1, *spatial)``."""
        if x.dim() != self.spatial_dims + 2:
            raise ValueError(
                f"{type(self).__name__} expects a {self.spatial_dims + 2}-D input "
                f"(B, C, {'D, ' if self.spatial_dims == 3 else ''}H, W), got {tuple(x.shape)}"
            )
        feats = self.first(x)
        for unit in self.units:
            feats = torch.cat([feats, unit(feats)], dim=1)
        y = self.out(feats)
        return y + x[:, :1] if self.input_skip else y


@register_network("dcsrn")
class DCSRN(_DCSRNBase):
    """The original 3-D DCSRN on ``(B, 1, D, H, W)`` patches.

    Args:
        growth: Growth rate k (24); the first convolution has 2k filters.
        n_units: Units in the dense block (4).
        in_channels: Input channels.
        input_skip: Add the input to the output (off in the original network).
    """

    spatial_dims = 3


@register_network("dcsrn2d")
class DCSRN2d(_DCSRNBase):
    """2-D DCSRN on ``(B, 1, H, W)`` slices (same arguments as :class:`DCSRN`)."""

    spatial_dims = 2
