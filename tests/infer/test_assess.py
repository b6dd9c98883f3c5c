"""The acquisition dnsp upscale assumes, the consistency figure, the header description."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from dnsp.acquisition import get_acquisition
from dnsp.cli import main
from dnsp.infer.assess import assess_upscale, assumed_acquisition
from dnsp.infer.upscale import upscale_file
from dnsp.methods import build_method


def _head(n: int = 64, depth: int = 6, seed: int = 0) -> np.ndarray:
    """A head-like volume (X, Y, Z): textured ellipse, sharp edges, black background."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:n, :n] / n - 0.5
    head = ((x / 0.4) ** 2 + (y / 0.45) ** 2 < 1).astype(np.float32)
    out = np.zeros((n, n, depth), np.float32)
    for z in range(depth):
        tex = np.zeros((n, n))
        for _ in range(25):
            cy, cx, r = [*rng.uniform(-0.3, 0.3, 2).tolist(), rng.uniform(0.02, 0.08)]
            tex += 0.3 * (((x - cx) ** 2 + (y - cy) ** 2) < r * r)
        out[..., z] = 500 * head * (0.5 + tex)
    return out


def _acquire(vol: np.ndarray, name: str) -> np.ndarray:
    acq = get_acquisition(name, scale=2)
    lr = acq.simulate(torch.from_numpy(np.moveaxis(vol, 2, 0))).numpy()
    return np.ascontiguousarray(np.moveaxis(lr, 0, 2))


@pytest.mark.parametrize("name", ["gaussian", "kspace"])
def test_estimated_acquisition_and_consistency(name: str) -> None:
    hr = _head()
    lr = _acquire(hr, name)
    aff = np.diag([2.0, 2.0, 3.0, 1.0])
    acq, how, _ = assumed_acquisition(lr, aff, 2, float(np.percentile(lr, 99.9)))
    assert (acq.name, how) == (name, "estimated")
    hr_aff = acq.hr_affine(aff, (0, 1))
    rep = assess_upscale(Path("x.nii"), lr, aff, hr, hr_aff, 2,
                         float(np.percentile(lr, 99.9)))
    assert math.isinf(rep.consistency_db) or rep.consistency_db > 60  # the true HR
    shuffled = np.random.default_rng(0).permutation(hr.ravel()).reshape(hr.shape)
    bad = assess_upscale(rep.path, lr, aff, shuffled, hr_aff, 2, 1.0, acq)
    assert bad.consistency_db < 15 and "given" in bad.describe()


def test_upscale_file_reports_and_writes_the_description(tmp_path) -> None:
    lr = _acquire(_head(), "kspace")
    src, dst = tmp_path / "lr.nii.gz", tmp_path / "sr.nii.gz"
    nib.save(nib.Nifti1Image(lr, np.diag([2.0, 2.0, 3.0, 1.0])), str(src))
    reports = []
    upscale_file(src, dst, build_method("bicubic", 2), 2, report=reports.append)
    assert reports[0].acquisition.name == "kspace" and reports[0].how == "estimated"
    assert "input acquisition kspace x2 (estimated" in reports[0].line()
    desc = nib.load(str(dst)).header["descrip"].tobytes().rstrip(b"\0").decode()
    assert desc.startswith("dnsp x2 bicubic; in: kspace x2 (estimated)")


def test_cli_prints_the_acquisition_and_refuses_bad_options(tmp_path, capsys) -> None:
    lr = _acquire(_head(depth=3), "gaussian")
    src = tmp_path / "lr.nii.gz"
    nib.save(nib.Nifti1Image(lr, np.diag([2.0, 2.0, 3.0, 1.0])), str(src))
    out = tmp_path / "o.nii.gz"
    assert main(["upscale", str(src), str(out), "-s", "2", "--method", "bicubic",
                 "--acquisition", "kspace", "--window", "hamming", "-q"]) == 0
    assert main(["upscale", str(src), str(tmp_path / "p.nii.gz"), "-s", "2",
                 "--method", "bicubic"]) == 0
    assert "input acquisition gaussian x2 (estimated" in capsys.readouterr().out
    for extra in (["--acquisition", "sinc"], ["--window", "hamming"],
                  ["--acquisition", "kspace", "--window", "box"]):
        bad = tmp_path / "bad.nii.gz"
        try:
            status = main(["upscale", str(src), str(bad), "-s", "2", *extra])
        except SystemExit as exc:  # argparse: not a registered model (the registry's choices)
            status = exc.code
        assert status == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and not bad.exists()


def test_texture_against_bicubic() -> None:
    from dnsp.infer.assess import texture_vs_bicubic
    from dnsp.ops import bicubic_upscale
    from dnsp.ops.kspace import zero_fill_upscale

    rng = np.random.default_rng(3)
    lr = np.moveaxis(_acquire(_head(96, 10), "kspace"), 2, 0).astype(np.float32)
    lr = lr + rng.normal(0, 5, lr.shape).astype(np.float32)  # fluctuation in flat tissue
    t = torch.from_numpy(lr)
    bic = bicubic_upscale(t, 2).numpy()
    assert texture_vs_bicubic(lr, bic, 2) == pytest.approx(1.0)  # the reference itself
    zf = zero_fill_upscale(t.double(), 2).numpy()
    assert texture_vs_bicubic(lr, zf, 2) < 0.5  # nothing beyond the band but Nyquist halves
    noisy = bic + rng.normal(0, 40, bic.shape).astype(np.float32)
    assert texture_vs_bicubic(lr, noisy, 2) > 2.0  # invented fine texture
    assert texture_vs_bicubic(lr, bic[:, :-2], 2) is None  # shapes that do not match
    assert texture_vs_bicubic(np.zeros_like(lr), np.zeros_like(bic), 2) is None  # no tissue


def test_texture_is_measured_on_the_dominant_tissue_not_a_lesion() -> None:
    # a FLAIR-like stack: tissue at 0.4 around a small bright lesion at 0.9; texture added
    # to the lesion only is not flat tissue's texture (the dominant class excludes it)
    from dnsp.infer.assess import texture_vs_bicubic
    from dnsp.ops import bicubic_upscale

    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 48) ** 2 + (xx - 48) ** 2 < 40**2
    lesion = (yy - 40) ** 2 + (xx - 56) ** 2 < 8**2
    lr = ((0.4 * disc + 0.5 * lesion) * disc
          + 0.01 * rng.standard_normal((4, 96, 96)) * disc).astype(np.float32)
    bic = bicubic_upscale(torch.from_numpy(lr), 2).numpy()
    big = np.repeat(np.repeat(lesion, 2, 0), 2, 1)
    textured = bic + (rng.normal(0, 0.05, bic.shape) * big).astype(np.float32)
    assert texture_vs_bicubic(lr, textured, 2) == pytest.approx(1.0, abs=0.05)
    everywhere = bic + (rng.normal(0, 0.05, bic.shape) * disc.repeat(2, 0).repeat(2, 1)
                        ).astype(np.float32)
    assert texture_vs_bicubic(lr, everywhere, 2) > 2.0


def test_the_per_file_line_reports_texture(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    inp = tmp_path / "lr.nii.gz"
    nib.save(nib.Nifti1Image(_acquire(_head(64, 6), "kspace"), np.diag([2.0, 2.0, 1.0, 1.0])),
             str(inp))
    assert main(["upscale", str(inp), str(tmp_path / "o.nii.gz"), "-s", "2",
                 "--method", "bicubic"]) == 0
    assert "texture beyond the input's band 1.0x bicubic's" in capsys.readouterr().out
