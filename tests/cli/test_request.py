"""One request per upscale (dnsp.cli._request): every option honoured or refused, one line.

The through-plane path honours --dtype and --qc and refuses what it cannot use; an existing
output is refused without --overwrite (folder mode skips finished outputs, as stated); the
request is checked once, when built, and run without new checks.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from matplotlib.image import imread

from dnsp.cli import main


def _thick(tmp_path: Path, dtype: type = np.uint8) -> Path:
    rng = np.random.default_rng(0)
    vol = np.zeros((32, 32, 6), np.float32)
    vol[6:26, 6:26] = 50 + 100 * rng.random((20, 20, 6))
    path = tmp_path / "thick.nii.gz"
    nib.save(nib.Nifti1Image(vol.astype(dtype), np.diag([1.0, 1.0, 4.0, 1.0])), str(path))
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], match: str) -> None:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own refusals (choices)
        status = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and match in err[0], err


def test_through_plane_honours_dtype_same_and_qc(tmp_path: Path, capsys) -> None:
    src = _thick(tmp_path, np.uint8)
    out, qc = tmp_path / "iso.nii.gz", tmp_path / "qc.png"
    assert main(["upscale", str(src), str(out), "--through-plane", "--time-budget", "0",
                 "--qc", str(qc), "--acquisition", "slices"]) == 0
    img = nib.load(str(out))
    assert img.shape == (32, 32, 24) and img.get_data_dtype() == np.uint8  # --dtype same
    line = capsys.readouterr().out
    assert "uint8" in line and f"QC {qc}" in line
    assert imread(str(qc)).shape[1] >= 1000
    f32 = tmp_path / "f32.nii.gz"
    assert main(["upscale", str(src), str(f32), "--through-plane", "--time-budget", "0",
                 "--dtype", "float32", "-q"]) == 0
    assert nib.load(str(f32)).get_data_dtype() == np.float32


@pytest.mark.parametrize(("extra", "match"), [
    (["--acquisition", "gaussian"], "does not describe a thick-slice scan"),
    (["--acquisition", "kspace", "--window", "hamming"], "does not describe a thick-slice"),
    (["--window", "hamming"], "--window needs a named --acquisition"),
    (["--plane", "coronal"], "--plane is not an option of --through-plane"),
    (["--format", "dicom"], "--format dicom is not available"),
    (["--model", "dnsp-edsr-ap-x2"], "--model is for the in-plane step"),
    (["--method", "bicubic"], "--method is for the in-plane step"),
    (["--ensemble", "2"], "--ensemble is for the in-plane step"),
    (["--device", "cuda"], "--device is for the in-plane step"),
    (["--acquisition", "nope"], "invalid choice: 'nope'"),
])
def test_through_plane_refuses_what_it_cannot_use(tmp_path: Path, capsys, extra, match) -> None:
    src, out = _thick(tmp_path), tmp_path / "o.nii.gz"
    _one_line_error(capsys, ["upscale", str(src), str(out), "--through-plane", *extra], match)
    assert not out.exists()


@pytest.mark.parametrize(("extra", "match"), [
    (["--target-spacing", "1"], "--target-spacing is an option of --through-plane"),
    (["--slice-thickness", "2"], "--slice-thickness is an option of --through-plane"),
    (["--acquisition", "slices"], "is the thick-slice model: add --through-plane"),
    (["--acquisition", "gaussian", "--window", "hann"], "--window is not an option of "
     "--acquisition gaussian"),
    (["--scale", "1"], "--scale must be an integer >= 2, got '1'"),
])
def test_in_plane_refuses_options_of_other_paths(tmp_path: Path, capsys, extra, match) -> None:
    src, out = _thick(tmp_path), tmp_path / "o.nii.gz"
    argv = ["upscale", str(src), str(out), "--method", "bicubic"]
    _one_line_error(capsys, [*argv, *([] if "--scale" in extra else ["-s", "2"]), *extra],
                    match)
    assert not out.exists()


def test_one_overwrite_rule(tmp_path: Path, capsys) -> None:
    src, out = _thick(tmp_path), tmp_path / "o.nii.gz"
    argv = ["upscale", str(src), str(out), "-s", "2", "--method", "bicubic", "-q"]
    assert main(argv) == 0
    before = out.stat().st_mtime_ns
    _one_line_error(capsys, argv, "output exists")
    assert out.stat().st_mtime_ns == before
    assert main([*argv, "--overwrite"]) == 0
    # the through-plane path follows the same rule
    tp = ["upscale", str(src), str(tmp_path / "iso.nii.gz"), "--through-plane",
          "--time-budget", "0", "-q"]
    assert main(tp) == 0
    _one_line_error(capsys, tp, "use --overwrite to replace it")
    # folder mode: finished outputs are skipped (a rerun resumes), --overwrite redoes them
    folder, dst = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    src.rename(folder / "a.nii.gz")
    fargv = ["upscale", str(folder), str(dst), "-s", "2", "--method", "bicubic"]
    assert main(fargv) == 0 and "1 written, 0 skipped" in capsys.readouterr().out
    assert main(fargv) == 0 and "0 written, 1 skipped" in capsys.readouterr().out
    assert main([*fargv, "--overwrite"]) == 0
    assert "1 written, 0 skipped" in capsys.readouterr().out


def test_request_is_run_without_new_checks(tmp_path: Path, monkeypatch) -> None:
    """The output is checked once, when the request is built; infer does not check again."""
    import dnsp.infer.upscale as upscale_mod
    import dnsp.infer.upscale_one as one

    calls: list[Path] = []
    real = one.check_file_output

    def counted(inp, out, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(Path(out))
        return real(inp, out, *args, **kwargs)

    monkeypatch.setattr(one, "check_file_output", counted)
    monkeypatch.setattr(upscale_mod, "check_file_output", counted)
    src, out = _thick(tmp_path), tmp_path / "o.nii.gz"
    assert main(["upscale", str(src), str(out), "-s", "2", "--method", "bicubic", "-q"]) == 0
    assert calls == [out]


def test_bids_passes_every_upscale_option(tmp_path: Path) -> None:
    """dnsp bids declares the upscale options by the same code: type, acquisition, plane."""
    import json

    from dnsp.bids.synthetic import make_synthetic_dataset

    bids = tmp_path / "raw"
    make_synthetic_dataset(bids, ("01",), None, ("T1w",))
    out = tmp_path / "deriv"
    assert main(["bids", str(bids), str(out), "participant", "--method", "bicubic",
                 "--dtype", "uint8", "--acquisition", "kspace", "--plane", "axial",
                 "--no-qc", "-q"]) == 0
    images = sorted(out.rglob("*.nii.gz"))
    assert images and all(nib.load(str(p)).get_data_dtype() == np.uint8 for p in images)
    side = json.loads(images[0].with_name(images[0].name[:-7] + ".json").read_text())
    assert side["AcquisitionAssumed"]["name"] == "kspace" and side["AcquisitionHow"] == "given"
    assert "In-plane (axial)" in side["Description"]
