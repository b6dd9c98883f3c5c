"""SRCNN (Dong, Loy, He and Tang, TPAMI 2016), the 9-1-5 configuration of SPEC section 5.

Three convolutions on the bicubic-upscaled image: patch extraction (9x9, ``n1`` = 64 filters),
non-linear mapping (1x1, ``n2`` = 32 filters) and reconstruction (5x5, one filter), with ReLU
after the first two. The original network uses valid convolutions and so shrinks the image by
12 pixels; here every convolution is "same"-padded so that ``(B, 1, H, W)`` maps to
``(B, 1, H, W)`` as the :mod:`dnsp.nets` contract requires (the padding mode is an option).
"""

from __future__ import annotations

from torch import Tensor, nn

from dnsp.nets.registry import register_network

__all__ = ["SRCNN"]

_PADDING_MODES = ("zeros", "reflect", "replicate")


@register_network("srcnn")
class SRCNN(nn.Module):
    """SRCNN with kernel sizes ``kernels`` (default 9-1-5) and widths ``n1``, ``n2``.

    Args:
        n1: Filters of the first layer (64 in the paper's configuration).
        n2: Filters of the second layer (32).
        kernels: Kernel sizes of the three layers, each odd.
        in_channels: Input channels (1 for a grey-level MR slice).
        padding_mode: ``"zeros"``, ``"reflect"`` or ``"replicate"``.
    """

    spatial_dims = 2

    def __init__(
        self,
        n1: int = 64,
        n2: int = 32,
        kernels: tuple[int, int, int] | list[int] = (9, 1, 5),
        in_channels: int = 1,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        kernels = tuple(int(k) for k in kernels)
        if len(kernels) != 3 or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels must be three odd positive sizes, got {kernels}")
        if n1 < 1 or n2 < 1 or in_channels < 1:
            raise ValueError("n1, n2 and in_channels must be positive")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        k1, k2, k3 = kernels
        self.features = nn.Conv2d(in_channels, n1, k1, padding=k1 // 2, padding_mode=padding_mode)
        self.mapping = nn.Conv2d(n1, n2, k2, padding=k2 // 2, padding_mode=padding_mode)
        self.reconstruct = nn.Conv2d(n2, 1, k3, padding=k3 // 2, padding_mode=padding_mode)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(B, C, H, W)`` to ``(B, 1, H, W)``."""
        x = self.relu(self.features(x))
        x = self.relu(self.mapping(x))
        return self.reconstruct(x)
