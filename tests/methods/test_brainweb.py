"""Both model-based baselines beat bicubic on crops of the real BrainWeb test slab (x2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dnsp.methods import get_method

Degrade = Callable[[np.ndarray, int], np.ndarray]

#: Original BrainWeb axial slice indices of the project split (dnsp.data.embedded.PHANTOM_SLABS):
#: training slab 36-75 (lower), test slab 96-135 (upper).
TRAIN_SLICES = slice(46, 66, 2)
TEST_SLICES = slice(110, 114)


def _phantom(data_dir: Path) -> np.ndarray:
    from dnsp.data.intensity import percentile_scale
    from dnsp.data.io import load_volume
    from dnsp.data.orientation import to_axial_stack

    vol = load_volume(data_dir / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz")
    scaled, _ = percentile_scale(vol.data)
    return np.ascontiguousarray(to_axial_stack(scaled, vol.affine))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


@pytest.mark.data
def test_lrtv_and_srsw_beat_bicubic_on_brainweb_test_crops(
    data_dir: Path, make_lr: Degrade, tmp_path: Path
) -> None:
    head = _phantom(data_dir)
    # 64 x 64 crops of the test slab through cortex and ventricles, and a training library
    test = head[TEST_SLICES, 100:164, 58:122]
    train = head[TRAIN_SLICES, 40:184, 30:150]
    lr = make_lr(test, 2)
    bic = _psnr(test, get_method("bicubic").upscale_stack(lr, 2))
    lrtv = _psnr(test, get_method("lrtv").upscale_stack(lr, 2))
    srsw_m = get_method("srsw", cache_dir=tmp_path)
    srsw_m.fit([train], 2)
    srsw = _psnr(test, srsw_m.upscale_stack(lr, 2))
    assert lrtv > bic + 1.5, (lrtv, bic)
    assert srsw > bic + 1.5, (srsw, bic)
