"""``dnsp degrade``: outputs, affine, and one-line errors with nothing half-written."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from dnsp.cli import main


def _write(path, data, affine):
    img = nib.Nifti1Image(data, affine)
    img.header["descrip"] = b"test volume"
    nib.save(img, str(path))


@pytest.fixture
def volume(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.random((15, 9, 13)).astype(np.float32) * 100
    aff = np.array([[0, 0, -1.5, 30], [-1.0, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1.0]])
    path = tmp_path / "hr.nii.gz"
    _write(path, data, aff)
    return path, data, aff


@pytest.mark.parametrize("scale", [2, 3])
def test_degrade_writes_lr_with_new_affine(tmp_path, volume, scale, capsys):
    path, _data, aff = volume
    out = tmp_path / "lr.nii.gz"
    assert main(["degrade", str(path), str(out), "--scale", str(scale)]) == 0
    img = nib.load(str(out))
    # voxel axes: 0 -> A-P (rows), 2 -> R-L (columns), 1 -> S-I (slices, untouched)
    assert img.shape == (15 // scale, 9, 13 // scale)
    assert img.header["descrip"].tobytes().rstrip(b"\0") == b"test volume"
    i, j, k = 1, 4, 2
    hr_ijk = np.array([scale * i + (scale - 1) / 2, j, scale * k + (scale - 1) / 2, 1])
    np.testing.assert_allclose(img.affine @ [i, j, k, 1], aff @ hr_ijk, atol=1e-5)
    assert "lr.nii.gz" in capsys.readouterr().out


def test_degrade_errors_are_one_line_and_leave_no_file(tmp_path, volume, capsys):
    path, _, _ = volume
    cases = [
        [str(tmp_path / "missing.nii"), str(tmp_path / "o1.nii"), "--scale", "2"],
        [str(path), str(path), "--scale", "2"],
        [str(path), str(tmp_path / "o2.nii"), "--scale", "1"],
        [str(path), str(tmp_path / "o3.txt"), "--scale", "2"],
    ]
    bad = tmp_path / "bad.nii"
    bad.write_text("not an image")
    cases.append([str(bad), str(tmp_path / "o4.nii"), "--scale", "2"])
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv in cases:
        assert main(["degrade", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dnsp degrade: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert nib.load(str(path)).shape == (15, 9, 13)  # input untouched


def test_degrade_too_small_for_scale(tmp_path, capsys):
    p = tmp_path / "tiny.nii"
    _write(p, np.ones((3, 3, 3), np.float32), np.eye(4))
    assert main(["degrade", str(p), str(tmp_path / "o.nii"), "--scale", "4"]) == 2
    assert "scale" in capsys.readouterr().err


@pytest.mark.data
def test_degrade_real_ixi_world_coordinates(tmp_path):
    from pathlib import Path

    from dnsp.data.degradation import bicubic_upscale_volume

    root = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ixi-t1-2mm"
    if not root.is_dir():
        pytest.skip("../shared/data is not available")
    src = sorted(root.glob("IXI*.nii.gz"))[0]
    out = tmp_path / "lr.nii.gz"
    assert main(["degrade", str(src), str(out), "--scale", "3"]) == 0
    hr, lr = nib.load(str(src)), nib.load(str(out))
    # IXI is PSR: axes 0 (A-P) and 2 (R-L) are in-plane, axis 1 (S-I) keeps its 120 slices
    assert lr.shape == (hr.shape[0] // 3, hr.shape[1], hr.shape[2] // 3)
    for ijk in ([0, 0, 0], [5, 60, 7], [39, 119, 29]):
        hr_ijk = [3 * ijk[0] + 1, ijk[1], 3 * ijk[2] + 1, 1]
        np.testing.assert_allclose(lr.affine @ [*ijk, 1], hr.affine @ hr_ijk, atol=1e-4)
    up, up_aff = bicubic_upscale_volume(lr.get_fdata(), lr.affine, 3)
    assert up.shape == hr.shape  # 120 and 90 are multiples of 3
    np.testing.assert_allclose(up_aff, hr.affine, atol=1e-4)


def test_degrade_kspace_same_geometry_and_noise(tmp_path, capsys):
    rng = np.random.default_rng(1)
    data = (rng.random((16, 5, 12)) * 100).astype(np.float32)
    aff = np.array([[0, 0, -1.5, 30], [-1.0, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1.0]])
    src = tmp_path / "hr.nii.gz"
    _write(src, data, aff)
    outs = {}
    for name, extra in (("g", []), ("k", ["-a", "kspace"]),
                        ("kn", ["-a", "kspace", "--window", "hamming", "--noise", "0.02",
                                "--seed", "3"])):
        outs[name] = tmp_path / f"{name}.nii.gz"
        assert main(["degrade", str(src), str(outs[name]), "--scale", "2", *extra]) == 0
    g, k, kn = (nib.load(str(outs[n])) for n in ("g", "k", "kn"))
    assert g.shape == k.shape == kn.shape == (8, 5, 6)
    np.testing.assert_allclose(k.affine, g.affine)
    # the k-space model keeps the mean of every slice exactly (no window, no noise)
    np.testing.assert_allclose(k.get_fdata().mean(axis=(0, 2)), data.mean(axis=(0, 2)),
                               rtol=1e-5)
    assert not np.allclose(kn.get_fdata(), k.get_fdata())
    assert "kspace x2 (window hamming, 2% Rician noise)" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [
    ["-a", "sinc"],
    ["-a", "kspace", "--window", "gauss"],
    ["-a", "kspace", "--window", "tukey", "--window-param", "2"],
    ["--noise", "-0.1"],
    ["--window", "hamming"],
    ["-a", "kspace", "--sigma", "1"],
    ["--sigma", "0"],
    ["-a", "kspace", "--scale", "3"],  # 16 is not a multiple of 3: k-space needs the matrix
])
def test_degrade_bad_acquisition_options(tmp_path, volume, extra, capsys):
    path = tmp_path / "hr16.nii.gz"
    _write(path, np.ones((16, 4, 12), np.float32), np.eye(4))
    out = tmp_path / "o.nii.gz"
    argv = ["degrade", str(path), str(out), *(["--scale", "2"] if "--scale" not in extra
                                              else []), *extra]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse: not a registered model
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dnsp degrade: error:")
    assert not out.exists()


@pytest.mark.parametrize("scale", [2, 3])
def test_degrade_then_upscale_gives_the_heads_shape_and_grid(tmp_path, scale):
    """SPEC section 4: a 1 mm head degraded by s (s x s x 1 mm voxels) is upscaled in the
    plane of its s x s mm pixels, back to the head's shape and voxel grid (world coordinates
    of every voxel), on the shipped BrainWeb head."""
    from dnsp.data.embedded import default_phantom

    head = default_phantom()
    n = 12 * scale * 2  # a crop whose in-plane sides the scale divides
    data = head.data[40:40 + n, 50:50 + n, 40:52]
    aff = head.affine.copy()
    aff[:3, 3] = head.affine[:3, :3] @ [40, 50, 40] + head.affine[:3, 3]
    hr, lr, up = tmp_path / "hr.nii.gz", tmp_path / "lr.nii.gz", tmp_path / "up.nii.gz"
    _write(hr, data, aff)
    assert main(["degrade", str(hr), str(lr), "--scale", str(scale)]) == 0
    lr_img = nib.load(str(lr))
    np.testing.assert_allclose(lr_img.header.get_zooms()[:3], (scale, scale, 1.0))
    assert main(["upscale", str(lr), str(up), "--scale", str(scale), "--method", "bicubic",
                 "-q"]) == 0
    out = nib.load(str(up))
    assert out.shape == data.shape
    np.testing.assert_allclose(out.affine, aff, atol=1e-9)


def test_degrade_offers_thick_slices_for_through_plane(tmp_path, capsys):
    """dnsp degrade --acquisition slices: a thick-slice test scan (issue 27), which
    dnsp upscale --through-plane restores to the head's slice spacing."""
    rng = np.random.default_rng(3)
    head = np.zeros((24, 24, 16), np.float32)
    head[4:20, 4:20, 2:14] = 50 + 100 * rng.random((16, 16, 12))
    hr, lr, up = tmp_path / "hr.nii.gz", tmp_path / "lr.nii.gz", tmp_path / "up.nii.gz"
    _write(hr, head, np.diag([1.0, 1.0, 1.0, 1.0]))
    assert main(["degrade", str(hr), str(lr), "--scale", "4", "-a", "slices",
                 "--profile", "gaussian", "--slice-thickness", "3"]) == 0
    assert "slices 3 mm gaussian, every 4 mm" in capsys.readouterr().out
    img = nib.load(str(lr))
    assert img.shape == (24, 24, 4)
    np.testing.assert_allclose(img.header.get_zooms(), (1.0, 1.0, 4.0))
    # slice k is centred on the mean of its 4 fine slices: world z of voxel 0 is 1.5 mm
    np.testing.assert_allclose(img.affine[2, 3], 1.5)
    assert main(["upscale", str(lr), str(up), "--through-plane", "--time-budget", "0",
                 "--profile", "gaussian", "--slice-thickness", "3", "-q"]) == 0
    out = nib.load(str(up))
    assert out.shape == (24, 24, 16)
    np.testing.assert_allclose(out.affine, np.diag([1.0, 1.0, 1.0, 1.0]), atol=1e-6)


def test_degrade_refuses_options_the_model_does_not_take(tmp_path, volume, capsys):
    path, _, _ = volume
    out = tmp_path / "o.nii.gz"
    assert main(["degrade", str(path), str(out), "-s", "2", "--slice-thickness", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--slice-thickness is not an option of --acquisition gaussian" \
        in err[0]
