"""Pure tensor operations: Laplacian, singular values, total variation, resizing, D4."""

from dnsp.ops.dihedral import N_DIHEDRAL, dihedral_inverse, dihedral_transform
from dnsp.ops.laplacian import LAPLACIAN_KERNEL, as_image_batch, filter2d_valid, laplacian
from dnsp.ops.resize import (
    bicubic_resize,
    bicubic_upscale,
    block_downsample,
    crop_to_multiple,
    degrade,
    downscale_affine,
    gaussian_blur2d,
    upscale_affine,
)
from dnsp.ops.scale import check_scale
from dnsp.ops.svd import singular_values
from dnsp.ops.tv import total_variation

__all__ = [
    "LAPLACIAN_KERNEL",
    "N_DIHEDRAL",
    "as_image_batch",
    "bicubic_resize",
    "bicubic_upscale",
    "block_downsample",
    "check_scale",
    "crop_to_multiple",
    "degrade",
    "dihedral_inverse",
    "dihedral_transform",
    "downscale_affine",
    "filter2d_valid",
    "gaussian_blur2d",
    "laplacian",
    "singular_values",
    "total_variation",
    "upscale_affine",
]
