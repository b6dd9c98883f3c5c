"""Total-variation prior for the TVLR ablation (paper Table V)."""

from __future__ import annotations

from torch import Tensor, nn

from dnsp.ops.laplacian import as_image_batch
from dnsp.ops.tv import total_variation as _tv

__all__ = ["TotalVariation", "total_variation"]


def total_variation(y: Tensor, eps: float = 1e-8) -> Tensor:
    """Isotropic TV of each image (see :func:`dnsp.ops.tv.total_variation`): (B,1,H,W) -> (B,)."""
    return _tv(as_image_batch(y)[:, 0], eps=eps)


class TotalVariation(nn.Module):
    """Module form of :func:`total_variation`."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, y: Tensor) -> Tensor:
        return total_variation(y, self.eps)
