"""Image quality of SPEC section 6: PSNR, SSIM (Wang et al. 2004), brain masks, per-slice CSV."""

from dnsp.metrics.image import (
    SSIM_K1,
    SSIM_K2,
    SSIM_SIGMA,
    SSIM_TRUNCATE,
    brain_mask,
    psnr,
    ssim,
    ssim_map,
    window_radius,
)
from dnsp.metrics.records import (
    CSV_COLUMNS,
    SliceRecord,
    evaluate_slices,
    read_records_csv,
    write_records_csv,
)
from dnsp.metrics.texture import (
    TextureScore,
    flat_tissue_mask,
    invented_texture,
    out_of_band_residual,
)

__all__ = [
    "CSV_COLUMNS",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_TRUNCATE",
    "SliceRecord",
    "TextureScore",
    "brain_mask",
    "evaluate_slices",
    "flat_tissue_mask",
    "invented_texture",
    "out_of_band_residual",
    "psnr",
    "read_records_csv",
    "ssim",
    "ssim_map",
    "window_radius",
    "write_records_csv",
]
