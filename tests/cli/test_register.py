"""``dnsp register``: recovers a known shift; output on the fixed grid; errors."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from dnsp.cli import main


def _blob(n=32):
    g = np.meshgrid(*[np.linspace(-1, 1, n)] * 3, indexing="ij")
    vol = 100 * np.exp(-((g[0] - 0.1) ** 2 / 0.2 + (g[1] + 0.05) ** 2 / 0.3 + g[2] ** 2 / 0.15))
    vol += 50 * np.exp(-((g[0] + 0.3) ** 2 + (g[1] - 0.3) ** 2 + (g[2] - 0.2) ** 2) / 0.03)
    return vol.astype(np.float32)


def test_register_cli(tmp_path, capsys):
    aff = np.diag([1.5, 1.5, 1.5, 1.0])
    fixed = _blob()
    moving = ndimage.shift(fixed, (1.5, -1.0, 0.5), order=3, mode="nearest")
    fp, mp = tmp_path / "fixed.nii.gz", tmp_path / "moving.nii.gz"
    nib.save(nib.Nifti1Image(fixed, aff), str(fp))
    nib.save(nib.Nifti1Image(moving, aff), str(mp))
    out, tfm = tmp_path / "reg.nii.gz", tmp_path / "t.tfm"
    assert main(["register", str(mp), str(fp), str(out), "--save-transform", str(tfm)]) == 0
    reg = nib.load(str(out))
    np.testing.assert_allclose(reg.affine, aff, atol=1e-5)
    inner = (slice(6, 26),) * 3
    before = np.abs(moving[inner] - fixed[inner]).mean()
    after = np.abs(reg.get_fdata()[inner] - fixed[inner]).mean()
    assert after < 0.2 * before
    assert tfm.read_text().startswith("#Insight Transform File")
    assert "rigid registration" in capsys.readouterr().out


def test_register_errors(tmp_path, capsys):
    p = tmp_path / "a.nii"
    nib.save(nib.Nifti1Image(_blob(16), np.eye(4)), str(p))
    for argv in ([str(p), str(tmp_path / "missing.nii"), str(tmp_path / "o.nii")],
                 [str(p), str(p), str(p)]):
        assert main(["register", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dnsp register: error:")
    assert not (tmp_path / "o.nii").exists()
