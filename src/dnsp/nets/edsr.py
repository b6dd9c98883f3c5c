"""EDSR (Lim, Son, Kim, Nah and Lee, CVPRW 2017) as the DNSP paper uses it (SPEC section 5).

The paper (Sec. IV, Fig. 7) moves EDSR's upsampler out of the network: the input is the
bicubic-upscaled image, so there is no upsampling tail. Structure::

    head   = conv3x3(1 -> F)
    body   = n_blocks x [conv3x3 - ReLU - conv3x3, scaled by res_scale, + identity]
             followed by conv3x3(F -> F)
    output = tail(conv3x3(F -> 1))(head + body(head))          # long skip

Paper size: 32 blocks x 256 filters, residual scaling 0.1 (registered as ``edsr``). Smaller
configurations for CPUs are registered as ``edsr-small`` (16 x 64, EDSR's baseline width) and
``edsr-tiny`` (8 x 32). EDSR's RGB mean shift is dropped: the inputs are single-channel MR
intensities in [0, 1]. ``input_skip=True`` adds the input image to the output (the network then
learns the residual over bicubic); it is off in the paper's configuration.

``unshuffle=u > 1`` (not in the paper) runs the same network on a space-to-depth view of the
input: the bicubic-upscaled image is padded to a multiple of u, rearranged losslessly into u^2
channels at 1/u of the resolution (``pixel_unshuffle``), and the tail predicts u^2 channels that
``pixel_shuffle`` puts back. Input and output are the same as without it, but every convolution
runs on u^2 fewer pixels; with u equal to the scale, the cost is that of a network working on
the low-resolution grid. The shipped ``dnsp upscale`` models use it for CPU speed.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from dnsp.nets.registry import register_network

__all__ = ["EDSR", "ResBlock"]


class ResBlock(nn.Module):
    """EDSR residual block without batch normalisation: x + s * conv(relu(conv(x)))."""

    def __init__(self, n_feats: int, res_scale: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(n_feats, n_feats, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(n_feats, n_feats, 3, padding=1)
        self.res_scale = float(res_scale)

    def forward(self, x: Tensor) -> Tensor:
        """Residual update of ``(B, n_feats, H, W)`` features."""
        return x + self.res_scale * self.conv2(self.relu(self.conv1(x)))


@register_network("edsr", n_blocks=32, n_feats=256, res_scale=0.1)
@register_network("edsr-small", n_blocks=16, n_feats=64, res_scale=0.1)
@register_network("edsr-tiny", n_blocks=8, n_feats=32, res_scale=0.1)
class EDSR(nn.Module):
    """EDSR without upsampler on bicubic pre-upsampled single-channel input.

    Args:
        n_blocks: Number of residual blocks (32 in the paper).
        n_feats: Filters per convolution (256 in the paper).
        res_scale: Residual scaling inside each block (0.1).
        in_channels: Input channels.
        input_skip: Add the (first channel of the) input to the output.
        unshuffle: Space-to-depth factor (1: the paper's network at full resolution).
    """

    spatial_dims = 2

    def __init__(
        self,
        n_blocks: int = 32,
        n_feats: int = 256,
        res_scale: float = 0.1,
        in_channels: int = 1,
        input_skip: bool = False,
        unshuffle: int = 1,
    ) -> None:
        super().__init__()
        if n_blocks < 0 or n_feats < 1 or in_channels < 1 or unshuffle < 1:
            raise ValueError(
                "need n_blocks >= 0, n_feats >= 1, in_channels >= 1, unshuffle >= 1; got "
                f"{n_blocks}, {n_feats}, {in_channels}, {unshuffle}"
            )
        if not res_scale > 0:
            raise ValueError(f"res_scale must be positive, got {res_scale}")
        self.unshuffle = int(unshuffle)
        u2 = self.unshuffle**2
        self.head = nn.Conv2d(in_channels * u2, n_feats, 3, padding=1)
        self.body = nn.Sequential(
            *[ResBlock(n_feats, res_scale) for _ in range(n_blocks)],
            nn.Conv2d(n_feats, n_feats, 3, padding=1),
        )
        self.tail = nn.Conv2d(n_feats, u2, 3, padding=1)
        self.input_skip = bool(input_skip)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(B, C, H, W)`` to ``(B, 1, H, W)``."""
        u = self.unshuffle
        height, width = x.shape[-2:]
        z = x
        if u > 1:
            z = F.pad(z, (0, -width % u, 0, -height % u), mode="replicate")
            z = F.pixel_unshuffle(z, u)
        h = self.head(z)
        y = self.tail(h + self.body(h))
        if u > 1:
            y = F.pixel_shuffle(y, u)[..., :height, :width]
        return y + x[:, :1] if self.input_skip else y
