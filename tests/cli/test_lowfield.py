"""``dnsp lowfield``: SNR ratio of the written volume and one-line errors."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from dnsp.cli import main


def _noisy(tmp_path, sigma=3.0):
    rng = np.random.default_rng(0)
    shape = (36, 40, 30)
    g = np.meshgrid(*[np.linspace(-1, 1, k) for k in shape], indexing="ij")
    r2 = g[0] ** 2 / 0.5 + g[1] ** 2 / 0.6 + g[2] ** 2 / 0.5
    sig = np.where(r2 < 1, 100.0, 0.0)
    img = np.abs(sig + rng.normal(0, sigma, shape) + 1j * rng.normal(0, sigma, shape))
    p = tmp_path / "hi.nii.gz"
    nib.save(nib.Nifti1Image(img.astype(np.float32), np.eye(4)), str(p))
    return p, r2 < 0.6


def test_lowfield_writes_requested_snr(tmp_path, capsys):
    src, fg = _noisy(tmp_path)
    out = tmp_path / "lo.nii.gz"
    assert main(["lowfield", str(src), str(out), "--from", "3", "--to", "1.5"]) == 0
    a = nib.load(str(src)).get_fdata()
    b = nib.load(str(out)).get_fdata()
    snr_a = a[fg].mean() / a[fg].std()
    snr_b = b[fg].mean() / b[fg].std()
    assert abs(snr_b / snr_a / 0.5 - 1) < 0.10
    assert "SNR ratio 0.5" in capsys.readouterr().out


def test_lowfield_errors(tmp_path, capsys):
    src, _ = _noisy(tmp_path)
    flat = tmp_path / "flat.nii"
    nib.save(nib.Nifti1Image(np.pad(np.ones((6, 6, 6), np.float32), 8), np.eye(4)), str(flat))
    cases = [
        [str(src), str(tmp_path / "o.nii"), "--from", "1.5", "--to", "3"],
        [str(flat), str(tmp_path / "o.nii")],
        [str(src), str(src)],
        [str(tmp_path / "none.nii"), str(tmp_path / "o.nii")],
    ]
    for argv in cases:
        assert main(["lowfield", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dnsp lowfield: error:")
    assert not (tmp_path / "o.nii").exists()
