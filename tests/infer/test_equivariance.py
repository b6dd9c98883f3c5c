"""``upscale(a x + b) == a upscale(x) + b`` for a > 0: the intensity map of the pipeline.

Synthetic volumes with the intensities practitioners meet (z-scored with negative tissue,
offset, all negative, piecewise constant), with the shipped default model and with bicubic;
and the real BraTS FLAIR (z-scored) when the shared data are present.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from dnsp.cli import main
from dnsp.infer.upscale import intensity_map, upscale_volume
from dnsp.methods import build_method

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MAPS = ((2.5, 0.0), (1.0, 1000.0), (0.01, -3.0), (300.0, -7.0e3))


def _blob(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r2 = sum(g**2 for g in grids)
    inner = np.exp(-4.0 * r2) * (1.0 + 0.5 * np.sin(9.0 * grids[0]) * np.cos(7.0 * grids[1]))
    return (900.0 * inner + 30.0 * rng.random(shape)).astype(np.float32)


def _volumes() -> dict[str, np.ndarray]:
    shape = (28, 24, 3)
    blob = _blob(shape, 0)
    mask = blob > 120.0
    z = np.where(mask, (blob - blob[mask].mean()) / blob[mask].std(), 0.0)  # BraTS-like
    z_min = np.where(mask, z, z[mask].min())  # background at the minimum instead of 0
    steps = np.zeros(shape, np.float32)
    steps[4:20, 3:12] = 5.0
    steps[10:26, 10:22] = -2.0
    steps[:, :, 1] += 3.0 * np.random.default_rng(1).random(shape[:2])
    return {
        "z-scored, background 0": z.astype(np.float32),
        "z-scored, background at min": z_min.astype(np.float32),
        "offset": blob + 2.0e3,
        "all negative": blob - 5.0e3,
        "constant regions": steps,
    }


def _check(method_spec: str | None, data: np.ndarray, a: float, b: float) -> None:
    aff = np.diag([1.0, 1.0, 3.0, 1.0])
    method = build_method(method_spec, 2, threads=1,
                          params={"clip": False} if method_spec == "bicubic" else None)
    ref, _ = upscale_volume(data, aff, method, 2)
    mapped = (np.float64(a) * data + b).astype(np.float32)
    got, _ = upscale_volume(mapped, aff, method, 2)
    span = float(ref.max() - ref.min())
    # float32 rounding of the inputs (|a x + b| large) and of the outputs bounds the error
    tol = 2e-5 * a * span + 4e-6 * float(np.abs(mapped).max())
    err = np.abs(got.astype(np.float64) - (a * ref.astype(np.float64) + b))
    assert err.max() <= tol, f"max error {err.max():.3g} > {tol:.3g}"


@pytest.mark.parametrize("name", sorted(_volumes()))
@pytest.mark.parametrize("a,b", MAPS)
def test_bicubic_equivariant(name: str, a: float, b: float) -> None:
    _check("bicubic", _volumes()[name], a, b)


@pytest.mark.parametrize("name", sorted(_volumes()))
@pytest.mark.parametrize("a,b", MAPS[1:3])
def test_default_model_equivariant(name: str, a: float, b: float) -> None:
    _check(None, _volumes()[name], a, b)


def test_intensity_map_transforms_with_the_data() -> None:
    x = _volumes()["z-scored, background 0"]
    offset, factor = intensity_map(x)
    assert offset == pytest.approx(float(x.min()))
    off2, fac2 = intensity_map(3.0 * x - 11.0)
    assert off2 == pytest.approx(3.0 * offset - 11.0, rel=1e-6)
    assert fac2 == pytest.approx(3.0 * factor, rel=1e-5)
    assert intensity_map(np.zeros((2, 2, 2), np.float32)) == (0.0, 1.0)


def test_zscored_input_has_no_contour_overshoot() -> None:
    """Tissue crossing 0 once drew bright one-pixel contours; now the output stays in range."""
    z = _volumes()["z-scored, background 0"]
    hr, _ = upscale_volume(z, np.diag([1.0, 1.0, 3.0, 1.0]), build_method(None, 2, threads=1),
                           2)
    span = float(z.max() - z.min())
    assert hr.max() <= z.max() + 0.1 * span and hr.min() >= z.min() - 0.1 * span


def test_cli_equivariant_on_files(tmp_path: Path) -> None:
    x = _volumes()["all negative"]
    aff = np.diag([0.8, 0.8, 2.0, 1.0])
    outs = []
    for i, (a, b) in enumerate(((1.0, 0.0), (4.0, 123.0))):
        src, dst = tmp_path / f"in{i}.nii.gz", tmp_path / f"out{i}.nii.gz"
        nib.save(nib.Nifti1Image((a * x + b).astype(np.float32), aff), str(src))
        assert main(["upscale", str(src), str(dst), "-s", "2", "--threads", "1", "-q"]) == 0
        outs.append(np.asarray(nib.load(str(dst)).dataobj, np.float64))
    np.testing.assert_allclose(outs[1], 4.0 * outs[0] + 123.0, atol=1e-3 * 4.0 * 900.0)


@pytest.mark.data
@pytest.mark.slow
def test_brats_flair_equivariant_and_without_contours() -> None:
    path = SHARED / "brats2013" / "pat0001" / "Flair.nii.gz"
    if not path.exists():
        pytest.skip("shared data not available")
    img = nib.load(str(path))
    x = np.asarray(img.dataobj, np.float32)[60:180, 60:200, 76:79]
    aff = np.asarray(img.affine, float)
    method = build_method(None, 2, threads=1)
    ref, _ = upscale_volume(x, aff, method, 2)
    shifted, _ = upscale_volume(x - x.min(), aff, method, 2)  # non-negative: no artefact
    np.testing.assert_allclose(ref, shifted + x.min(), atol=1e-4 * float(np.ptp(x)))
