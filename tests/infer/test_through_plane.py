"""Through-plane SR (dnsp.infer.through_plane, dnsp.methods.through_plane): thick-axis
detection, world geometry for several orientations and an oblique affine, non-integer ratios,
target spacing, refusals (one InputError line each), adaptation within its budget, the
re-acquisition figure, the CLI functions (--scale too), and nothing written on error."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

import dnsp.infer.through_plane as tp
from dnsp.acquisition.slices import SliceAcquisition
from dnsp.cli import main
from dnsp.data.io import load_volume
from dnsp.errors import InputError
from dnsp.methods.pretrained import load_model, models_dir, read_manifest
from dnsp.methods.through_plane import (
    MODEL_NAME,
    NETWORK_KWARGS,
    PairSampler,
    ThroughPlaneSR,
    degrade_rows,
)
from dnsp.nets import build_network
from dnsp.ops.slice_profile import thick_affine
from dnsp.paths import shared_data_root


def tiny_method(budget: float = 0.0) -> ThroughPlaneSR:
    torch.manual_seed(0)
    net = build_network("edsr", n_blocks=1, n_feats=4, res_scale=0.1, input_skip=True,
                        unshuffle=2)
    return ThroughPlaneSR(net, time_budget=budget, batch=2, patch=16, threads=1)


def head(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A smooth blob (a 'head') with some texture, in scanner units."""
    g = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    r2 = sum(x**2 for x in g)
    tex = np.random.default_rng(seed).random(shape) * 0.1
    return (600 * np.exp(-2 * r2) * (1 + tex)).astype(np.float32)


def affine(spacing: tuple[float, float, float], perm: tuple[int, int, int] = (0, 1, 2),
           angle: float = 0.0) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) @ np.array(
        [[c, -s, 0], [s, c, 0], [0, 0, 1]])
    a = np.eye(4)
    a[:3, :3] = rot @ np.eye(3)[:, list(perm)] @ np.diag(spacing)
    a[:3, 3] = [-30.0, 12.0, 4.5]
    return a


@pytest.mark.parametrize("spacing,perm,angle", [
    ((1.0, 1.0, 4.0), (0, 1, 2), 0.0),      # axial slices, RAS
    ((3.0, 0.9, 0.9), (2, 0, 1), 0.0),      # sagittal-like voxel order, thick axis 0
    ((0.86, 2.4, 0.86), (1, 2, 0), 0.3),    # oblique, thick axis 1, non-integer ratio
])
def test_geometry_in_world_coordinates(spacing, perm, angle) -> None:
    shape = tuple(20 if s < 2 else 9 for s in spacing)
    a = affine(spacing, perm, angle)
    res = tp.through_plane_volume(head(shape), a, method=tiny_method())
    ax = int(np.argmax(spacing))
    assert res.axis == ax
    fine = min(s for s in spacing if s != spacing[ax])
    assert res.target == pytest.approx(fine)
    n = res.data.shape[ax]
    assert n == int(np.ceil(9 * spacing[ax] / fine - 1e-9))
    assert [res.data.shape[i] for i in range(3) if i != ax] == [20, 20]
    np.testing.assert_allclose(np.linalg.norm(res.affine[:3, ax]), fine)
    # other axes untouched; field-of-view centres coincide in world coordinates
    others = [i for i in range(3) if i != ax]
    np.testing.assert_allclose(res.affine[:3, others], a[:3, others])
    centre_in = a @ np.append((np.array(shape) - 1) / 2, 1)
    centre_out = res.affine @ np.append((np.array(res.data.shape) - 1) / 2, 1)
    np.testing.assert_allclose(centre_out, centre_in, atol=1e-9)
    # re-acquiring the output grid gives the input grid exactly
    np.testing.assert_allclose(thick_affine(res.affine, ax, n, res.ratio), a, atol=1e-9)
    assert np.isfinite(res.consistency) and res.consistency > 20


def test_target_spacing_and_units_kept() -> None:
    data = head((16, 16, 8))
    res = tp.through_plane_volume(data, affine((1.0, 1.0, 3.0)), target_spacing=0.75,
                                  method=tiny_method())
    assert res.data.shape == (16, 16, 32)
    assert res.ratio == pytest.approx(4.0)
    np.testing.assert_allclose(np.linalg.norm(res.affine[:3, 2]), 0.75)
    assert res.data.dtype == np.float32
    assert 0.5 * data.max() < res.data.max() < 1.5 * data.max()


def test_constant_volume_stays_constant() -> None:
    res = tp.through_plane_volume(np.full((12, 12, 5), 7.0, np.float32), affine((1, 1, 4)),
                                  profile="rect", method=tiny_method())
    np.testing.assert_allclose(res.data, 7.0, rtol=1e-4)


def test_adaptation_respects_budget_and_learns() -> None:
    sr = tiny_method(budget=1.5)
    data = head((24, 24, 6))
    acq = SliceAcquisition(4.0, 4.0, "gaussian", fine_spacing=1.0)
    thick = data / data.max()
    rep = sr.adapt(thick, acq)
    assert rep.steps > 0 and rep.seconds < 4.0
    assert np.isfinite(rep.loss_end)


def test_pairs_rows_are_the_slice_axis() -> None:
    img = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (40, 1))  # varies along columns
    sampler = PairSampler([img, img.T.copy()], patch=16, seed=0)
    acq = SliceAcquisition(3.0, 3.0, "rect", axis=-2)
    x, y = sampler.sample(8, acq)
    assert x.shape == y.shape == (8, 1, 16, 16)
    # constant rows stay as they are; a ramp along rows is only blurred (mean kept)
    ramp = torch.linspace(0, 1, 30)[:, None].repeat(1, 4)[None]
    out = degrade_rows(ramp, acq)
    torch.testing.assert_close(out[0, 10:20], ramp[0, 10:20], atol=5e-4, rtol=0)


@pytest.mark.parametrize("data,aff,kw,match", [
    (np.zeros((8, 8, 8)), affine((1, 1, 1.1)), {}, "near-isotropic"),
    (np.zeros((8, 8, 1)), affine((1, 1, 3)), {}, "2-D image"),
    (np.zeros((8, 8, 2)), affine((1, 1, 3)), {}, "at least 3 slices"),
    (np.zeros((8, 8, 6)), affine((1, 1, 3)), {"thickness": 0.5}, "finer than the target"),
    (np.zeros((8, 8, 6)), affine((1, 1, 3)), {"profile": "sinc"}, "unknown --profile"),
    (np.zeros((8, 8, 6)), affine((1, 1, 3)), {"target_spacing": 3.0}, "--target-spacing"),
    (np.full((8, 8, 6), np.nan), affine((1, 1, 3)), {}, "NaN"),
])
def test_refusals(data, aff, kw, match) -> None:
    with pytest.raises(InputError, match=match) as info:
        tp.through_plane_volume(data, aff, method=tiny_method(), **kw)
    assert "\n" not in str(info.value)


def test_gaps_are_accepted() -> None:
    res = tp.through_plane_volume(head((12, 12, 6)), affine((1, 1, 5)), thickness=2.0,
                                  method=tiny_method())
    assert res.thickness == 2.0 and res.data.shape == (12, 12, 30)


def _run(inp: Path, out: Path, **kw) -> int:
    """``dnsp upscale IN OUT --through-plane --time-budget 0 [--key value ...]``."""
    argv = ["upscale", str(inp), str(out), "--through-plane", "--time-budget", "0"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    return main(argv)


@pytest.fixture
def tiny_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tp, "ThroughPlaneSR", lambda **_kw: tiny_method())


def test_cli_functions_write_and_report(tmp_path: Path, tiny_default, capsys) -> None:
    inp, out = tmp_path / "thick.nii.gz", tmp_path / "out.nii.gz"
    nib.save(nib.Nifti1Image(head((16, 16, 6)), affine((0.9, 0.9, 2.7))), inp)
    assert _run(inp, out, profile="rect") == 0
    img = nib.load(out)
    assert img.shape == (16, 16, 18)
    np.testing.assert_allclose(img.header.get_zooms(), (0.9, 0.9, 0.9), rtol=1e-5)
    line = capsys.readouterr().out
    assert "ratio 3" in line and "rect profile (given)" in line and "assumed" in line


def test_cli_reads_the_slice_thickness_of_a_dicom_series(tmp_path: Path, tiny_default,
                                                          dicom_series, capsys) -> None:
    data = 1000.0 * head((16, 16, 6))
    folder = dicom_series(tmp_path / "series", data, (0.9, 0.9, 3.6), slice_thickness=2.7)
    out = tmp_path / "out.nii.gz"
    assert _run(folder, out) == 0
    assert "thickness 2.7 mm (from the DICOM header)" in capsys.readouterr().out
    assert nib.load(out).shape == (16, 16, 24)
    # a thickness on the command line wins over the header's
    assert _run(folder, tmp_path / "given.nii.gz", slice_thickness=3) == 0
    assert "thickness 3 mm (given)" in capsys.readouterr().out


def test_choose_thickness_prefers_given_then_header_on_its_axis() -> None:
    meta = {"format": "dicom", "slice_thickness": 5.0}
    assert tp.choose_thickness(3.0, meta, 2) == (3.0, "given")
    assert tp.choose_thickness(None, meta, 2) == (5.0, "header")
    assert tp.choose_thickness(None, meta, 0) == (None, "assumed")  # not the series' axis
    assert tp.choose_thickness(None, {}, 2) == (None, "assumed")


def test_cli_with_scale_is_isotropic(tmp_path: Path, tiny_default) -> None:
    inp, out = tmp_path / "coarse.nii.gz", tmp_path / "iso.nii.gz"
    nib.save(nib.Nifti1Image(head((12, 12, 6)), affine((2.0, 2.0, 5.0))), inp)
    assert _run(inp, out, scale=2, method="bicubic") == 0
    img = nib.load(out)
    assert img.shape == (24, 24, 30)
    np.testing.assert_allclose(img.header.get_zooms(), (1.0, 1.0, 1.0), rtol=1e-5)


def test_cli_error_writes_nothing(tmp_path: Path, tiny_default, capsys) -> None:
    inp, out = tmp_path / "iso.nii.gz", tmp_path / "out.nii.gz"
    nib.save(nib.Nifti1Image(head((8, 8, 8)), affine((1, 1, 1))), inp)
    assert _run(inp, out) == 2
    assert "near-isotropic" in capsys.readouterr().err
    assert not out.exists()
    assert _run(inp, tmp_path / "out.png") == 2
    assert "must be a NIfTI" in capsys.readouterr().err


def test_projection_makes_the_output_consistent() -> None:
    data, a = head((16, 16, 7)), affine((1.0, 1.0, 3.5))
    res = tp.through_plane_volume(data, a, profile="gaussian", method=tiny_method())
    assert res.consistency > 60 > res.network_consistency
    raw = tiny_method()
    raw.project = False
    res_raw = tp.through_plane_volume(data, a, profile="gaussian", method=raw)
    assert res_raw.consistency == pytest.approx(res_raw.network_consistency, abs=0.01)


def test_shipped_model_loads() -> None:
    if MODEL_NAME not in read_manifest(models_dir())["models"]:
        pytest.skip("no shipped through-plane model in this checkout")
    net, info = load_model(MODEL_NAME)
    assert not net.training
    assert info.network_kwargs == NETWORK_KWARGS and info.meta["kind"] == "through-plane"
    assert info.path.stat().st_size < 3 * 2**20


@pytest.mark.slow
@pytest.mark.data
def test_real_thick_scan_end_to_end() -> None:
    """chris_PD (0.86 x 0.86 x 2.4 mm, oblique) with the shipped model, default budget."""
    path = shared_data_root() / "chris" / "chris_PD.nii.gz"
    if not path.is_file():
        pytest.skip("shared data absent")
    vol = load_volume(path)
    res = tp.through_plane_volume(vol.data, vol.affine, threads=2)
    assert res.axis == 2 and res.data.shape[:2] == vol.data.shape[:2]
    assert res.seconds < 300 and res.consistency > 40
    np.testing.assert_allclose(thick_affine(res.affine, 2, res.data.shape[2], res.ratio),
                               vol.affine, atol=1e-5)
