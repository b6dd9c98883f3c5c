"""Image quality of SPEC section 6: PSNR, SSIM (Wang et al. 2004), HFEN, brain masks, slice CSV."""

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

__all__ = [
    "CSV_COLUMNS",
    "HFEN_SIGMA",
    "HFEN_TRUNCATE",
    "SSIM_K1",
    "SSIM_K2",
    "SSIM_SIGMA",
    "SSIM_TRUNCATE",
    "SliceRecord",
    "brain_mask",
    "evaluate_slices",
    "hfen",
    "psnr",
    "read_records_csv",
    "ssim",
    "ssim_map",
    "window_radius",
    "write_records_csv",
]
