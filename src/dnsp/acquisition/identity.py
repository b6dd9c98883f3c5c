"""Registered pairs: the LR scan is already on the HR grid (paper Sec. IV-F), scale 1.

Used for real LR/HR pairs (``dnsp register``) and for the low-field pairs of Sec. IV-E: the
network input is the registered LR image itself and :meth:`simulate` is the identity.
"""

from __future__ import annotations

from torch import Tensor

from dnsp.acquisition.base import Acquisition, register_acquisition

__all__ = ["IdentityAcquisition"]


@register_acquisition
class IdentityAcquisition(Acquisition):
    """The identity on the HR grid (scale 1); a network's input is the LR image as it is.

    Args:
        scale: Must be 1 (accepted so that a config may state it).
    """

    name = "identity"
    command_line = False  # not simulated by dnsp degrade / given to dnsp upscale

    def __init__(self, scale: int = 1) -> None:
        super().__init__(1)
        if scale != 1:
            raise ValueError(f"the identity acquisition has scale 1, got {scale}")

    def _acquire(self, hr: Tensor) -> Tensor:
        return hr.clone()

    def _axis_matrix(self, n: int) -> Tensor:
        import torch

        return torch.eye(n, dtype=torch.float64)

    def to_config(self) -> dict[str, object]:
        """``{"name": "identity"}``."""
        return {"name": self.name}
