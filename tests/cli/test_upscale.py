"""``dnsp upscale``: success paths, folder mode, and every bad input of issue 7.

Each bad input must give exit status 2, exactly one line on stderr, no traceback (unless
``--debug``) and no file left behind in the output folder.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from dnsp.cli import main
from dnsp.methods.pretrained import save_model_file
from dnsp.nets import build_network

TINY = {"n_blocks": 1, "n_feats": 4, "input_skip": True}


def _affine() -> np.ndarray:
    aff = np.diag([0.9, 1.1, 2.5, 1.0])
    aff[:3, 3] = [-5.0, 3.0, 7.0]
    return aff


def _volume(shape: tuple[int, ...] = (10, 8, 4), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (200.0 + 800.0 * rng.random(shape)).astype(np.float32)


def _save(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, _affine() if affine is None else affine), str(path))
    return path


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    return _save(tmp_path / "in" / "scan.nii.gz", _volume())


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    net = build_network("edsr", **TINY)
    path = tmp_path / "tiny-x2.pt"
    save_model_file(net, "edsr", TINY, 2, path)
    return path


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], match: str) -> str:
    status = main(["upscale", *argv])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert match.lower() in lines[0].lower(), lines[0]
    return lines[0]


def test_bicubic_file(scan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "x2.nii.gz"
    out.parent.mkdir()
    assert main(["upscale", str(scan), str(out), "--scale", "2", "--method", "bicubic"]) == 0
    img = nib.load(str(out))
    assert img.shape == (20, 16, 4)
    np.testing.assert_allclose(np.linalg.norm(img.affine[:3, :3], axis=0), [0.45, 0.55, 2.5])
    assert _files(out.parent) == ["x2.nii.gz"]
    assert "x2 with bicubic" in capsys.readouterr().out


def test_checkpoint_model_and_threads(scan: Path, tmp_path: Path, checkpoint: Path) -> None:
    out = tmp_path / "net.nii"
    argv = ["upscale", str(scan), str(out), "-s", "2", "--model", str(checkpoint),
            "--device", "cpu", "--threads", "1", "--tile-pixels", "400", "--quiet"]
    assert main(argv) == 0
    hr = np.asarray(nib.load(str(out)).dataobj)
    assert hr.shape == (20, 16, 4) and np.all(np.isfinite(hr))
    # intensities stay in the input's units (hundreds), not [0, 1]
    assert 100 < float(hr.mean()) < 1100


def test_ensemble_option(scan: Path, tmp_path: Path, checkpoint: Path) -> None:
    """--ensemble K averages K flips/rotations: a different (finite) image than one pass."""
    outs = []
    for k in ("1", "8"):
        out = tmp_path / f"e{k}.nii.gz"
        assert main(["upscale", str(scan), str(out), "-s", "2", "--model", str(checkpoint),
                     "--device", "cpu", "--ensemble", k, "--quiet"]) == 0
        outs.append(np.asarray(nib.load(str(out)).dataobj))
    assert outs[0].shape == outs[1].shape and np.all(np.isfinite(outs[1]))
    assert np.abs(outs[0] - outs[1]).max() > 1e-3
    with pytest.raises(SystemExit):  # argparse: invalid choice
        main(["upscale", str(scan), str(tmp_path / "e3.nii.gz"), "-s", "2", "--ensemble", "3"])
    assert not (tmp_path / "e3.nii.gz").exists()


def test_folder_mode_and_skipping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bids"
    for sub in ("sub-01", "sub-02"):
        _save(src / sub / "anat" / f"{sub}_T1w.nii.gz", _volume(seed=len(sub)))
    (src / "README").write_text("not an image")
    dst = tmp_path / "sr"
    argv = ["upscale", str(src), str(dst), "--scale", "3", "--method", "bicubic"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 written, 0 skipped, 0 failed" in out
    assert _files(dst) == ["sub-01/anat/sub-01_T1w.nii.gz", "sub-02/anat/sub-02_T1w.nii.gz"]
    assert main(argv) == 0
    assert "0 written, 2 skipped" in capsys.readouterr().out


def test_folder_mode_reports_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    src = tmp_path / "in"
    _save(src / "a.nii.gz", _volume())
    (src / "b.nii.gz").write_bytes(b"garbage")
    status = main(["upscale", str(src), str(tmp_path / "out"), "-s", "2", "--method",
                   "bicubic", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "1 written, 0 skipped, 1 failed" in err[0]
    assert _files(tmp_path / "out") == ["a.nii.gz"]


def _truncated(tmp_path: Path) -> Path:
    good = _save(tmp_path / "good.nii.gz", _volume((16, 16, 8)))
    raw = good.read_bytes()
    bad = tmp_path / "in" / "truncated.nii.gz"
    bad.write_bytes(raw[: len(raw) // 2])
    good.unlink()
    return bad


def _raw(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


BAD_INPUTS = {
    "missing": (lambda d: d / "in" / "nope.nii.gz", "does not exist"),
    "empty": (lambda d: _raw(d / "in" / "empty.nii.gz", b""), "empty"),
    "truncated": (_truncated, "cannot read"),
    "not-an-image": (lambda d: _raw(d / "in" / "notes.nii", b"hello"), "cannot read"),
    "gzip-text": (lambda d: _raw(d / "in" / "t.nii.gz", gzip.compress(b"hello" * 99)),
                  "cannot read"),
    "nan-voxels": (lambda d: _save(d / "in" / "nan.nii.gz",
                                   np.where(_volume() > 900, np.nan, _volume())), "nan"),
    "2d-image": (lambda d: _save(d / "in" / "flat.nii.gz", _volume((10, 8))), "3-d"),
    "4d-image": (lambda d: _save(d / "in" / "four.nii.gz", _volume((6, 6, 4, 3))), "3-d"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    make, match = BAD_INPUTS[case]
    inp = make(tmp_path)
    _fails(capsys, [str(inp), str(out_dir / "o.nii.gz"), "--scale", "2", "--method", "bicubic"],
           match)
    assert _files(out_dir) == []


def test_nan_input_with_debug_shows_traceback(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    inp = _save(tmp_path / "nan.nii.gz", np.full((4, 4, 2), np.nan, np.float32))
    status = main(["--debug", "upscale", str(inp), str(tmp_path / "o.nii.gz"), "-s", "2",
                   "--method", "bicubic"])
    assert status == 2 and "Traceback" in capsys.readouterr().err


def test_one_voxel_volume_is_a_constant(tmp_path: Path) -> None:
    inp = _save(tmp_path / "one.nii.gz", np.full((1, 1, 1), 42.0, np.float32))
    out = tmp_path / "one_x4.nii.gz"
    assert main(["upscale", str(inp), str(out), "-s", "4", "--method", "bicubic", "-q"]) == 0
    hr = np.asarray(nib.load(str(out)).dataobj)
    assert hr.shape == (4, 4, 1) and np.all(hr == 42.0)


def test_output_equal_to_input(scan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = scan.read_bytes()
    _fails(capsys, [str(scan), str(scan), "-s", "2", "--method", "bicubic"], "input itself")
    _fails(capsys, [str(scan.parent), str(scan.parent), "-s", "2", "--method", "bicubic"],
           "input itself")
    assert scan.read_bytes() == before


def test_unwritable_output_folder(scan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() == 0:  # root ignores permission bits: simulate the refusal
            real = tempfile.mkstemp

            def refuse(*args, dir=None, **kw):  # type: ignore[no-untyped-def]
                if dir is not None and Path(dir).resolve() == locked.resolve():
                    raise PermissionError(13, "Permission denied")
                return real(*args, dir=dir, **kw)

            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        _fails(capsys, [str(scan), str(locked / "o.nii.gz"), "-s", "2", "--method", "bicubic"],
               "not writable")
        _fails(capsys, [str(scan.parent), str(locked / "sub"), "-s", "2", "--method",
                        "bicubic"], "not writable")
        assert _files(locked) == []
    finally:
        locked.chmod(0o700)


def test_missing_output_folder_and_bad_names(scan: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, [str(scan), str(tmp_path / "no" / "o.nii.gz"), "-s", "2", "--method",
                    "bicubic"], "does not exist")
    _fails(capsys, [str(scan), str(tmp_path / "o.png"), "-s", "2", "--method", "bicubic"],
           ".nii")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("scale", ["1", "0", "-2"])
def test_scale_below_two(scan: Path, tmp_path: Path, scale: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, [str(scan), str(tmp_path / "o.nii.gz"), f"--scale={scale}", "--method",
                    "bicubic"], ">= 2")


def test_model_problems(scan: Path, tmp_path: Path, checkpoint: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o.nii.gz")
    _fails(capsys, [str(scan), out, "-s", "3", "--model", str(checkpoint)], "trained for x2")
    _fails(capsys, [str(scan), out, "-s", "2", "--model", "no-such-model"], "unknown model")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 64)
    _fails(capsys, [str(scan), out, "-s", "2", "--model", str(bad)], "cannot read model")
    _fails(capsys, [str(scan), out, "-s", "7"], "x7")
    _fails(capsys, [str(scan), out, "-s", "2", "--model", str(checkpoint), "--device", "abc"],
           "device")
    _fails(capsys, [str(scan), out, "-s", "2", "--method", "nearest"],
           "unknown --method 'nearest'; valid: bicubic, lrtv, srsw, zerofill")
    assert not Path(out).exists()


def test_list_models_and_missing_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from dnsp.methods.pretrained import models_dir

    if (models_dir() / "manifest.json").is_file():
        assert main(["upscale", "--list-models"]) == 0
        listed = capsys.readouterr().out
        manifest = json.loads((models_dir() / "manifest.json").read_text())
        assert all(name in listed for name in manifest["models"])
    _fails(capsys, [], "give IN, OUT and --scale")


def test_folder_of_volumes_needs_an_output_folder(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    _save(src / "a.nii.gz", _volume())
    _fails(capsys, [str(src), str(tmp_path / "o.nii.gz"), "-s", "2", "--method", "bicubic"],
           "OUT must be a folder")
    (tmp_path / "nothing").mkdir()
    _fails(capsys, [str(tmp_path / "nothing"), str(tmp_path / "o.nii.gz"), "-s", "2",
                    "--method", "bicubic"], "no image file or DICOM series")
    assert not (tmp_path / "o.nii.gz").exists()


def _usage_fails(capsys: pytest.CaptureFixture[str], argv: list[str], match: str) -> None:
    """An argparse-level error: exit 2 with one line, not the usage block."""
    with pytest.raises(SystemExit) as exc:
        main(["upscale", *argv])
    assert exc.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "usage:" not in err[0], err
    assert match in err[0]


def test_every_argument_error_is_one_line(scan: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o.nii.gz")
    _fails(capsys, [str(scan), out, "--scale", "2.5", "--method", "bicubic"],
           "--scale must be an integer >= 2, got '2.5'")
    _fails(capsys, [str(scan), out, "-s", "two", "--method", "bicubic"], "integer")
    _usage_fails(capsys, [str(scan), out, "-s", "2", "--plane", "oblique"], "--plane")
    _usage_fails(capsys, [str(scan), out, "-s", "2", "--dtype", "float64"], "--dtype")
    _usage_fails(capsys, [str(scan), out, "-s", "2", "--ensemble", "3"], "--ensemble")
    _usage_fails(capsys, [str(scan), out, "-s", "2", "--threads", "x"], "--threads")
    assert not Path(out).exists()


@pytest.mark.parametrize("target", ["/sys/o.nii.gz", "/proc/o.nii.gz", "/sys/class/x/o.nii.gz",
                                    "/sys/dnsp-out", "/proc/dnsp-out"])
def test_system_paths_refused_in_under_a_second(scan: Path, target: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/" + target.split("/")[1]).is_dir():
        pytest.skip("no such system folder here")
    import time

    t0 = time.perf_counter()
    inp = scan if target.endswith(".nii.gz") else scan.parent  # folder mode for a folder OUT
    line = _fails(capsys, [str(inp), target, "-s", "2"], "output")  # the model is not loaded
    assert time.perf_counter() - t0 < 1.0, line
    assert "not writable" in line or "does not exist" in line or "not a folder" in line


def test_plane_dtype_and_qc_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    coronal = np.diag([1.0, 4.0, 1.0, 1.0])  # thick slices along A-P: a coronal scan
    src = _save(tmp_path / "in" / "cor.nii.gz", np.round(_volume((8, 3, 6))).astype(np.int16),
                coronal)
    out, qc = tmp_path / "o.nii.gz", tmp_path / "qc.png"
    assert main(["upscale", str(src), str(out), "-s", "2", "--method", "bicubic",
                 "--qc", str(qc)]) == 0
    line = capsys.readouterr().out
    assert "plane coronal (acquisition plane: voxels 1 x 4 x 1 mm" in line
    assert "int16, 0 voxel(s) clipped" in line  # --dtype same is the default
    img = nib.load(str(out))
    assert img.shape == (16, 3, 12) and img.get_data_dtype() == np.int16
    assert qc.read_bytes()[:4] == b"\x89PNG"
    assert main(["upscale", str(src), str(tmp_path / "a.nii.gz"), "-s", "2", "--method",
                 "bicubic", "--plane", "axial", "--dtype", "float32"]) == 0
    line = capsys.readouterr().out
    assert "plane axial (--plane axial; not the acquisition plane (coronal" in line
    assert nib.load(str(tmp_path / "a.nii.gz")).shape == (16, 6, 6)
    # folder mode: one QC PNG per volume, mirrored names
    _save(tmp_path / "in" / "sub" / "b.nii", _volume((6, 6, 2)))
    assert main(["upscale", str(tmp_path / "in"), str(tmp_path / "tree"), "-s", "2",
                 "--method", "bicubic", "--qc", str(tmp_path / "qcs"), "-q"]) == 0
    assert _files(tmp_path / "qcs") == ["cor.png", "sub/b.png"]
    _fails(capsys, [str(src), str(tmp_path / "c.nii.gz"), "-s", "2", "--method", "bicubic",
                    "--qc", str(tmp_path / "missing" / "q.png")], "does not exist")
    _fails(capsys, [str(src), str(tmp_path / "c.nii.gz"), "-s", "2", "--method", "bicubic",
                    "--qc", str(tmp_path / "q.jpg")], ".png")


def test_list_models_is_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    from dnsp.methods.pretrained import models_dir

    if not (models_dir() / "manifest.json").is_file():
        pytest.skip("no shipped models")
    assert main(["upscale", "--list-models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "x", "trained", "on", "degradation", "serves",
                                "inputs", "ensemble", "params", "gain", "MAC/px"]
    assert "{" not in "\n".join(lines)  # no Python dict reprs
    defaults = [line.split() for line in lines[2:] if len(line.split()) > 2
                and line.split()[1] == "*"]
    assert {row[2] for row in defaults} >= {"2", "3", "4"}  # one default per shipped scale
    ap = next(line for line in lines if line.startswith("dnsp-edsr-ap-x2 "))
    assert "gaussian x2" in ap and "dB" in ap and "T1" in ap and "234k" in ap
    assert ap.split()[ap.split().index("x2") + 1] == "gaussian"  # --acquisition gaussian
    mix = next(line for line in lines if line.startswith("dnsp-edsr-mix-x2 "))
    assert "auto(smooth)" in mix.split()  # auto, split by the estimate with the k-space model
    ks = next(line for line in lines if line.startswith("dnsp-edsr-ks-x2 "))
    assert "kspace,auto(kspace/unknown)" in ks.split()
    mix4 = next(line for line in lines if line.startswith("dnsp-edsr-mix-x4 "))
    assert "auto,kspace" in mix4.split()  # auto and the acquisitions without a model at x4
    assert ap.split()[ap.split().index("bicubic") + 1] == "1"  # the ensemble column
    # the no-prior twin has no card of its own: its scale's card gives data and gain
    twin = next(line for line in lines if line.startswith("dnsp-edsr-mix-np-x2 "))
    assert "IXI" in twin and "+3.85dB" in twin
