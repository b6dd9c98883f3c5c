"""PSNR/SSIM against scikit-image, masks, crops and the per-slice CSV (SPEC section 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dnsp.metrics import (
    CSV_COLUMNS,
    brain_mask,
    evaluate_slices,
    psnr,
    read_records_csv,
    ssim,
    ssim_map,
    window_radius,
    write_records_csv,
)


def _sk_ssim(a: np.ndarray, b: np.ndarray, full: bool = False):
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
        full=full,
    )


@pytest.mark.parametrize("shape", [(24, 24), (31, 45), (11, 11)])
def test_ssim_matches_skimage(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    hr = rng.random(shape)
    pred = np.clip(hr + rng.normal(0, 0.1, shape), 0, 1)
    assert abs(ssim(pred, hr) - _sk_ssim(pred, hr)) < 1e-6
    assert abs(ssim(hr, hr) - 1.0) < 1e-12


def test_ssim_map_matches_skimage_full_map(phantom_pair) -> None:
    pred, hr = phantom_pair
    _, sk_map = _sk_ssim(pred, hr, full=True)
    np.testing.assert_allclose(ssim_map(pred, hr), sk_map, atol=1e-9)


def test_ssim_float32_inputs_close_to_skimage(phantom_pair) -> None:
    pred, hr = (x.astype(np.float32) for x in phantom_pair)
    # skimage computes float32 inputs in float32; ours is float64, so agree to float32 precision.
    assert abs(ssim(pred, hr) - _sk_ssim(pred, hr)) < 1e-5


def test_psnr_matches_skimage(phantom_pair) -> None:
    pred, hr = phantom_pair
    ref = peak_signal_noise_ratio(hr, pred, data_range=1.0)
    assert abs(psnr(pred, hr) - ref) < 1e-9
    assert psnr(hr, hr) == math.inf
    # A known value: constant error 0.1 -> MSE 0.01 -> 20 dB.
    assert psnr(hr + 0.1, hr) == pytest.approx(20.0, abs=1e-9)
    assert psnr(2 * (hr + 0.1), 2 * hr, data_range=2.0) == pytest.approx(20.0, abs=1e-9)


def test_crop_equals_metric_of_cropped_images(phantom_pair) -> None:
    pred, hr = phantom_pair
    c = 3
    sl = (slice(c, -c), slice(c, -c))
    assert psnr(pred, hr, crop=c) == pytest.approx(
        peak_signal_noise_ratio(hr[sl], pred[sl], data_range=1.0), abs=1e-9
    )
    assert abs(ssim(pred, hr, crop=c) - _sk_ssim(pred[sl], hr[sl])) < 1e-6


def test_masked_metrics_use_only_mask_pixels(phantom_pair) -> None:
    pred, hr = phantom_pair
    mask = brain_mask(hr)
    err = (pred - hr)[mask] ** 2
    assert psnr(pred, hr, mask=mask) == pytest.approx(10 * np.log10(1 / err.mean()), abs=1e-9)
    # Changing pixels outside the mask changes neither masked metric ...
    pred2 = pred.copy()
    far = ~__import__("scipy").ndimage.binary_dilation(mask, iterations=2 * window_radius() + 1)
    assert far.any()
    pred2[far] = 1.0
    assert psnr(pred2, hr, mask=mask) == psnr(pred, hr, mask=mask)
    assert ssim(pred2, hr, mask=mask) == pytest.approx(ssim(pred, hr, mask=mask), abs=1e-12)
    # ... but the whole-slice ones.
    assert psnr(pred2, hr) < psnr(pred, hr)
    # The masked SSIM is the mean of the skimage SSIM map over mask pixels of the interior.
    _, sk_map = _sk_ssim(pred, hr, full=True)
    r = window_radius()
    inner = (slice(r, -r), slice(r, -r))
    assert ssim(pred, hr, mask=mask) == pytest.approx(sk_map[inner][mask[inner]].mean(), abs=1e-9)
    # A full mask reproduces the unmasked value.
    assert ssim(pred, hr, mask=np.ones_like(mask)) == pytest.approx(ssim(pred, hr), abs=1e-12)


def test_brain_mask_rule(phantom_pair) -> None:
    _, hr = phantom_pair
    m = brain_mask(hr)
    yy, xx = np.mgrid[:32, :40]
    r = np.hypot(yy - 16, xx - 20)
    np.testing.assert_array_equal(m, r < 12)  # dark hole filled, background excluded
    assert not brain_mask(hr, fill_holes=False)[16, 20]
    noisy = hr.copy()
    noisy[0, 0] = 0.9  # one isolated bright background pixel
    assert not brain_mask(noisy)[0, 0]
    assert brain_mask(noisy, min_size=0)[0, 0]
    stack = brain_mask(np.stack([hr, np.zeros_like(hr)]))
    assert stack.shape == (2, 32, 40) and stack[0].sum() == m.sum() and not stack[1].any()


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"crop": 20}, "crop"),
        ({"crop": -1}, "crop"),
        ({"data_range": 0.0}, "data_range"),
        ({"mask": np.zeros((32, 40), bool)}, "mask"),
        ({"mask": np.ones((3, 3), bool)}, "mask"),
    ],
)
def test_bad_arguments_raise(phantom_pair, kwargs: dict, msg: str) -> None:
    pred, hr = phantom_pair
    with pytest.raises(ValueError, match=msg):
        psnr(pred, hr, **kwargs)
    with pytest.raises(ValueError, match=msg):
        ssim(pred, hr, **kwargs)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="differ"):
        psnr(np.zeros((12, 12)), np.zeros((12, 13)))
    with pytest.raises(ValueError, match="2-D"):
        ssim(np.zeros((2, 12, 12)), np.zeros((2, 12, 12)))
    with pytest.raises(ValueError, match="window"):
        ssim(np.zeros((8, 20)), np.zeros((8, 20)))
    with pytest.raises(ValueError, match="finite"):
        psnr(np.full((12, 12), np.nan), np.zeros((12, 12)))


def test_evaluate_slices_and_csv_round_trip(phantom_pair, tmp_path) -> None:
    pred, hr = phantom_pair
    hr_stack = np.stack([hr, hr, np.zeros_like(hr)])
    pred_stack = np.stack([pred, hr + 0.2, pred])  # slice 1 goes above 1 and is clipped
    recs = evaluate_slices(
        pred_stack,
        hr_stack,
        method="bicubic",
        dataset="ixi",
        scale=2,
        subject="IXI002",
        slices=[10, 11, 12],
    )
    assert [r.slice for r in recs] == [10, 11, 12]
    assert recs[0].psnr == pytest.approx(psnr(pred, hr))
    assert recs[0].ssim == pytest.approx(ssim(pred, hr))
    mask = brain_mask(hr)
    assert recs[0].psnr_brain == pytest.approx(psnr(pred, hr, mask=mask))
    assert recs[0].ssim_brain == pytest.approx(ssim(pred, hr, mask=mask))
    assert recs[1].psnr == pytest.approx(psnr(np.clip(hr + 0.2, 0, 1), hr))
    assert math.isnan(recs[2].psnr_brain) and math.isnan(recs[2].ssim_brain)  # empty slice
    unclipped = evaluate_slices(
        pred_stack, hr_stack, method="m", dataset="d", scale=2, subject="s", clip=False
    )
    assert unclipped[1].psnr < recs[1].psnr

    path = tmp_path / "metrics.csv"
    write_records_csv(recs, path)
    assert path.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    back = read_records_csv(path)
    assert back[:2] == recs[:2]
    assert math.isnan(back[2].psnr_brain)
    write_records_csv(recs[:1], path, append=True)
    assert len(read_records_csv(path)) == 4
    with pytest.raises(ValueError, match="slice indices"):
        evaluate_slices(
            pred_stack, hr_stack, method="m", dataset="d", scale=2, subject="s", slices=[1]
        )
