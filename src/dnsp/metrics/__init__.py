"""Image quality: PSNR, SSIM (SPEC sec. 6), HFEN, invented texture, brain masks, slice CSV."""

from dnsp.metrics.image import (
    HFEN_SIGMA,
    HFEN_TRUNCATE,
    SSIM_K1,
    SSIM_K2,
    SSIM_SIGMA,
    SSIM_TRUNCATE,
    brain_mask,
    hfen,
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
    fine_texture,
    flat_tissue_mask,
    invented_texture,
    out_of_band_residual,
)

__all__ = [
    "CSV_COLUMNS",
    "HFEN_SIGMA",
    "HFEN_TRUNCATE",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_TRUNCATE",
    "SliceRecord",
    "TextureScore",
    "brain_mask",
    "evaluate_slices",
    "fine_texture",
    "flat_tissue_mask",
    "hfen",
    "invented_texture",
    "out_of_band_residual",
    "psnr",
    "read_records_csv",
    "ssim",
    "ssim_map",
    "window_radius",
    "write_records_csv",
]
