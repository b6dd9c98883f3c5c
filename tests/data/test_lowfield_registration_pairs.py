"""Low-field SNR ratio, rigid registration accuracy and the simulated pairs pipeline."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from dnsp.acquisition.lowfield import estimate_noise_sigma, simulate_low_field
from dnsp.data.degradation import bicubic_upscale_volume, degrade_volume
from dnsp.data.io import Volume, load_volume
from dnsp.data.pairs import make_pairs_folder, simulate_lr_scan
from dnsp.data.prepare import load_eval_slices, prepare_sr_data
from dnsp.data.registration import register_volumes, to_sitk
from dnsp.data.spec import SRDataSpec


def _phantom_with_noise(sigma: float, seed: int = 0, shape=(40, 44, 36)):
    rng = np.random.default_rng(seed)
    g = np.meshgrid(*[np.linspace(-1, 1, k) for k in shape], indexing="ij")
    r2 = g[0] ** 2 / 0.5 + g[1] ** 2 / 0.6 + g[2] ** 2 / 0.5
    signal = np.where(r2 < 1, 100.0, 0.0)
    noisy = np.abs(signal + rng.normal(0, sigma, shape) + 1j * rng.normal(0, sigma, shape))
    return noisy.astype(np.float32), r2 < 0.6


def _snr(img, fg):
    return float(img[fg].mean() / estimate_noise_sigma(img))


def test_noise_estimate_from_background():
    img, _ = _phantom_with_noise(4.0)
    assert estimate_noise_sigma(img) == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize(("b_high", "b_low", "c"), [(3.0, 1.5, 1.0), (7.0, 3.0, 1.0),
                                                    (3.0, 1.5, 0.8)])
def test_low_field_snr_ratio_within_10_percent(b_high, b_low, c):
    img, fg = _phantom_with_noise(3.0)
    res = simulate_low_field(img, b_high, b_low, relaxation_factor=c, seed=1)
    expect = b_low / b_high * c
    assert res.snr_ratio == pytest.approx(expect)
    ratio = _snr(res.data, fg) / _snr(img, fg)
    assert abs(ratio / expect - 1) < 0.10
    # the foreground noise (std within the flat region) grows by 1/ratio too
    std_ratio = img[fg].std() / res.data[fg].std()
    assert abs(std_ratio / expect - 1) < 0.10
    # rescaled output keeps the input's intensity units
    assert res.data[fg].mean() == pytest.approx(img[fg].mean(), rel=0.03)


def test_low_field_rejects_bad_settings():
    img, _ = _phantom_with_noise(3.0)
    with pytest.raises(ValueError):
        simulate_low_field(img, 1.5, 3.0)
    with pytest.raises(ValueError):
        simulate_low_field(img, 3.0, 1.5, relaxation_factor=2.5)
    with pytest.raises(ValueError, match="noise"):
        simulate_low_field(np.pad(np.ones((8, 8, 8)), 10), 3.0, 1.5)


def _smooth_volume(n=32):
    g = np.meshgrid(*[np.linspace(-1, 1, n)] * 3, indexing="ij")
    vol = 100 * np.exp(-((g[0] - 0.1) ** 2 / 0.2 + (g[1] + 0.05) ** 2 / 0.3 + g[2] ** 2 / 0.15))
    vol += 50 * np.exp(-((g[0] + 0.3) ** 2 + (g[1] - 0.3) ** 2 + (g[2] - 0.2) ** 2) / 0.03)
    return vol.astype(np.float32)


@pytest.mark.parametrize(("kind", "image"), [("rigid", "blobs"), ("rigid", "head"),
                                             ("affine", "head")])
def test_registration_recovers_known_rigid_transform(kind, image, make_head):
    """Two Gaussian blobs fix a rigid but not an affine transform; the textured head both."""
    import SimpleITK as sitk
    from scipy import ndimage

    aff = np.array([[0, 0, 1.5, -20], [-1.5, 0, 0, 25], [0, 1.5, 0, -22], [0, 0, 0, 1.0]])
    if image == "blobs":
        vol = _smooth_volume()
    else:
        vol = ndimage.gaussian_filter(make_head((32, 32, 32)), 1.0)
    fimg = to_sitk(vol, aff)
    truth = sitk.Euler3DTransform()
    truth.SetCenter(fimg.TransformContinuousIndexToPhysicalPoint([15.5] * 3))
    truth.SetRotation(0.06, -0.04, 0.08)
    truth.SetTranslation((2.0, -1.5, 1.0))
    mimg = sitk.Resample(fimg, fimg, truth.GetInverse(), sitk.sitkLinear, 0.0)
    moving = Volume(np.transpose(sitk.GetArrayFromImage(mimg), (2, 1, 0)).copy(), aff)
    res = register_volumes(moving, Volume(vol, aff), kind=kind)
    ijk = np.random.default_rng(0).uniform(6, 26, (100, 3))
    pts = ijk @ aff[:3, :3].T + aff[:3, 3]
    lps = np.diag([-1.0, -1.0, 1.0])
    expect = np.array([lps @ truth.TransformPoint(tuple(lps @ p)) for p in pts])
    err_vox = np.linalg.norm(res.map_fixed_to_moving_ras(pts) - expect, axis=1) / 1.5
    assert err_vox.max() < 0.5
    inner = (slice(6, 26),) * 3
    assert np.abs(res.data[inner] - vol[inner]).mean() < 0.05 * vol[inner].mean()


def test_simulated_pairs_pipeline(tmp_path, make_head):
    aff = np.diag([1.0, 1.0, 1.2, 1.0])
    paths = []
    for k in range(2):
        p = tmp_path / f"s{k}.nii.gz"
        nib.save(nib.Nifti1Image(make_head((28, 30, 22), k), aff), str(p))
        paths.append(p)
    sim = simulate_lr_scan(load_volume(paths[0]), scale=2, seed=3)
    assert sim.lr.data.shape == (14, 15, 22)
    assert max(abs(v) for v in sim.translation) <= 2.0
    written = make_pairs_folder(paths, tmp_path / "pairs", scale=2)
    assert len(written) == 2
    lr_reg = load_volume(written[0][1])
    hr = load_volume(written[0][0])
    assert lr_reg.shape == hr.shape
    np.testing.assert_allclose(lr_reg.affine, hr.affine, atol=1e-5)
    # the registered LR matches the motion-free LR (degraded and upscaled HR) much better
    # than the unregistered scan resampled as it lies
    ideal, _ = bicubic_upscale_volume(*degrade_volume(hr.data, hr.affine, 2), 2)
    raw = load_volume(tmp_path / "pairs" / "lr_raw" / "s0.nii.gz")
    as_is, _ = bicubic_upscale_volume(raw.data, raw.affine, 2)
    inner = (slice(6, 22), slice(6, 24), slice(5, 17))
    err_reg = np.abs(lr_reg.data[inner] - ideal[inner]).mean()
    err_raw = np.abs(as_is[inner] - ideal[inner]).mean()
    assert err_reg < 0.5 * err_raw
    spec = SRDataSpec(source="pairs", root=str(tmp_path / "pairs"), n_slices=4, patch=8,
                      stride=4, sharp_patch=8, val_fraction=0.0)
    data = prepare_sr_data(spec)
    assert data.train_inputs.shape == data.train_targets.shape
    hr_s, lr_s, subj, _ = load_eval_slices(spec)
    assert lr_s.shape == hr_s.shape and set(subj) == {"s1"}
