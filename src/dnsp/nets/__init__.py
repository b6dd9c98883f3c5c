"""Super-resolution networks behind one registry (SPEC section 5).

Every network maps a bicubic pre-upsampled image to the high-resolution estimate of the same
size: 2-D networks take ``(B, 1, H, W)``, the 3-D DCSRN takes ``(B, 1, D, H, W)``. Each class
has a ``spatial_dims`` attribute (2 or 3) so training and inference code can route the data.

Use :func:`build_network` with a registered name (see :func:`available_networks`); unknown
names raise :class:`ValueError` listing the valid ones. New networks register themselves with
the :func:`register_network` decorator.
"""

from __future__ import annotations

# Importing the modules registers their networks.
from dnsp.nets import dcsrn, edsr, lfmri, srcnn  # noqa: F401
from dnsp.nets.registry import (
    available_networks,
    build_network,
    count_parameters,
    network_defaults,
    register_network,
)

__all__ = [
    "available_networks",
    "build_network",
    "count_parameters",
    "network_defaults",
    "register_network",
]
