"""``dnsp upscale --through-plane`` through the CLI: output grid, refusals in one line."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from dnsp.cli import main


def test_through_plane_cli_restores_the_thick_axis(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    vol = np.zeros((32, 32, 6), np.float32)
    vol[6:26, 6:26] = 50 + 100 * rng.random((20, 20, 6))
    src, out = tmp_path / "thick.nii.gz", tmp_path / "iso.nii.gz"
    nib.save(nib.Nifti1Image(vol, np.diag([1.0, 1.0, 4.0, 1.0])), str(src))
    assert main(["upscale", str(src), str(out), "--through-plane", "--time-budget", "0"]) == 0
    img = nib.load(str(out))
    assert img.shape == (32, 32, 24)
    np.testing.assert_allclose(img.header.get_zooms(), (1.0, 1.0, 1.0))
    assert "through-plane: axis k 4 mm -> 1 mm" in capsys.readouterr().out
    again = tmp_path / "again.nii.gz"
    assert main(["upscale", str(out), str(again), "--through-plane"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "near-isotropic" in err[0] and not again.exists()
