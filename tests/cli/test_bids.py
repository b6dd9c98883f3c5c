"""``dnsp bids``: the BIDS App on a tiny synthetic dataset (3 participants, sessions, T1w+T2w).

Covers output names, sidecars, dataset_description, label filtering, ``group`` rejected,
shards (sequential and two processes at once), rerun idempotence, a failing image, every bad
invocation (one line, exit 2, nothing written) and the HTML summary in headless Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from matplotlib.image import imread

from dnsp.bids.synthetic import make_synthetic_dataset
from dnsp.cli import main

BICUBIC = ["--method", "bicubic"]
ALL = sorted(
    f"sub-{s}/ses-{e}/anat/sub-{s}_ses-{e}_res-x2_desc-bicubic_{k}.{x}"
    for s, e in (("01", "1"), ("01", "2"), ("02", "1"), ("03", "1"))
    for k in ("T1w", "T2w") for x in ("json", "nii.gz")
)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bids") / "raw"
    make_synthetic_dataset(root, ("01",), ("1", "2"))
    make_synthetic_dataset(root, ("02", "03"), ("1",))
    return root


def _files(folder: Path, pattern: str = "*") -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(pattern)
                  if p.is_file())


def _outputs(folder: Path) -> list[str]:
    return [f for f in _files(folder) if "/anat/" in f]


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], match: str) -> None:
    status = main(["bids", *argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert match.lower() in lines[0].lower(), lines[0]


def test_full_run_names_sidecars_description_rerun(ds: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = ds.parent / "run-full"  # beside the dataset: DatasetLinks is a file URI
    assert main(["bids", str(ds), str(out), "participant", *BICUBIC]) == 0
    printed = capsys.readouterr().out
    assert "8 written, 0 skipped, 0 failed" in printed
    assert _outputs(out) == ALL
    qc = _files(out, "*_qc.png")
    assert len(qc) == 8 and qc[0] == "sub-01/figures/sub-01_ses-1_res-x2_desc-bicubic_T1w_qc.png"
    assert not _files(out, ".*")  # no temporary files

    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["BIDSVersion"]
    assert desc["GeneratedBy"][0]["Name"] == "dnsp"
    assert "x2" in desc["GeneratedBy"][0]["Description"]
    assert "bicubic" in desc["GeneratedBy"][0]["Description"]
    assert desc["SourceDatasets"] == [{"URL": ds.resolve().as_uri()}]
    assert desc["DatasetLinks"] == {"raw": ds.resolve().as_uri()}

    stem = out / "sub-01/ses-2/anat/sub-01_ses-2_res-x2_desc-bicubic_T2w"
    side = json.loads(stem.with_suffix(".json").read_text())
    assert side["Sources"] == ["bids:raw:sub-01/ses-2/anat/sub-01_ses-2_T2w.nii.gz"]
    assert side["Method"] == "bicubic" and side["Model"] is None and side["Scale"] == 2
    assert side["AcquisitionAssumed"] == {"name": "gaussian", "scale": 2}
    assert 25.0 < side["ConsistencyPSNR"] < 80.0
    assert side["ServedBy"] is None  # bicubic: no network picked per volume
    assert side["TextureVsBicubic"] is None or side["TextureVsBicubic"] == pytest.approx(1.0)
    assert "bicubic interpolation's" in side["TextureDescription"]
    assert side["InputShape"] == [24, 24, 6] and side["OutputShape"] == [48, 48, 6]
    assert side["InputVoxelSize"] == [1.0, 1.0, 3.0]
    assert side["OutputVoxelSize"] == [0.5, 0.5, 3.0]
    assert "Resolution" in side and "0.5 x 0.5 x 3 mm" in side["Resolution"]
    assert 0 < side["UpscaleSeconds"] <= side["TotalSeconds"]
    assert (out / side["QCFigure"]).is_file()
    img = nib.load(str(stem) + ".nii.gz")
    assert img.shape == (48, 48, 6)
    np.testing.assert_allclose(np.linalg.norm(img.affine[:3, :3], axis=0), [0.5, 0.5, 3.0])

    page = (out / "dnsp-summary.html").read_text()
    assert page.count("<tr class=") == 8 and page.count('<img class="qc"') == 8

    mtimes = {f: (out / f).stat().st_mtime_ns for f in ALL}
    assert main(["bids", str(ds), str(out), "participant", *BICUBIC]) == 0
    assert "0 written, 8 skipped, 0 failed" in capsys.readouterr().out
    assert {f: (out / f).stat().st_mtime_ns for f in ALL} == mtimes
    page = (out / "dnsp-summary.html").read_text()
    assert page.count('<tr class="skipped">') == 8
    assert "Consistency PSNR: median" in page  # read back from the sidecars


def test_label_session_and_suffix_filters(ds: Path, tmp_path: Path) -> None:
    out = ds / "derivatives" / "dnsp"  # inside the dataset: relative DatasetLinks
    argv = ["bids", str(ds), str(out), "participant", *BICUBIC, "--no-qc", "-q"]
    assert main([*argv, "--participant-label", "sub-01", "03", "--suffix", "T2w"]) == 0
    assert _outputs(out) == [f for f in ALL if "T2w" in f and "sub-02" not in f]
    assert json.loads((out / "dataset_description.json").read_text())["DatasetLinks"] == {
        "raw": "../../"}
    assert not _files(out, "*_qc.png")
    shutil.rmtree(ds / "derivatives")
    assert main([*argv, "--participant_label", "01", "--session-label", "ses-2"]) == 0
    assert _outputs(out) == [f for f in ALL if "ses-2" in f]
    shutil.rmtree(ds / "derivatives")


def test_shards_split_the_cohort(ds: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sharded"
    base = ["bids", str(ds), str(out), "participant", *BICUBIC, "--no-qc"]
    assert main([*base, "--shard", "1/2"]) == 0
    first = _outputs(out)
    assert first == [f for f in ALL if "sub-02" not in f]  # sorted 01, 02, 03 -> 01, 03
    assert main([*base, "--shard", "2/2"]) == 0
    assert _outputs(out) == ALL
    assert _files(out, "dnsp-summary*") == ["dnsp-summary_shard-1of2.html",
                                            "dnsp-summary_shard-2of2.html"]
    capsys.readouterr()
    assert main([*base, "--shard", "4/4"]) == 0  # 3 participants: shard 4 is empty
    assert "nothing to do" in capsys.readouterr().out
    assert _outputs(out) == ALL


def test_two_shards_at_once(ds: Path, tmp_path: Path) -> None:
    out = tmp_path / "concurrent"
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "dnsp", "bids", str(ds), str(out),
                               "participant", *BICUBIC, "--shard", f"{i}/2", "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for i in (1, 2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert _outputs(out) == ALL
    assert len(_files(out, "*_qc.png")) == 8
    assert not _files(out, ".*")
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative"
    for f in ALL:
        if f.endswith(".json"):
            assert json.loads((out / f).read_text())["Scale"] == 2


def test_group_level_and_bad_invocations_write_nothing(
        ds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never"
    ok = [str(ds), str(out)]
    _fails(capsys, [*ok, "group", *BICUBIC], "analysis level 'group' is not supported")
    _fails(capsys, [*ok, "subject", *BICUBIC], "must be 'participant'")
    for shard in ("3/2", "0/2", "1/0", "x"):
        _fails(capsys, [*ok, "participant", *BICUBIC, "--shard", shard], "--shard")
    _fails(capsys, [*ok, "participant", *BICUBIC, "--suffix", "FLAIR"], "no anat")
    _fails(capsys, [*ok, "participant", *BICUBIC, "--session-label", "9"], "no anat")
    _fails(capsys, [*ok, "participant", *BICUBIC, "--participant-label", "sub-04", "01"],
           "participant(s) not found in")
    _fails(capsys, [*ok, "participant", *BICUBIC, "--participant-label", "0-1"], "invalid sub")
    _fails(capsys, [*ok, "participant", *BICUBIC, "--scale", "1"], ">= 2")
    _fails(capsys, [*ok, "participant", *BICUBIC, "--desc", "a-b"], "--desc")
    _fails(capsys, [str(ds), str(ds), "participant", *BICUBIC], "input itself")
    bare = tmp_path / "not-bids"
    (bare / "sub-01" / "anat").mkdir(parents=True)
    _fails(capsys, [str(bare), str(out), "participant", *BICUBIC],
           "no dataset_description.json")
    _fails(capsys, [str(tmp_path / "missing"), str(out), "participant"], "does not exist")
    assert not out.exists()


def test_failed_image_other_outputs_kept(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "raw"
    make_synthetic_dataset(src, ("01", "02"), None, ("T1w",), (8, 8, 2))
    (src / "sub-02" / "anat" / "sub-02_T1w.nii.gz").write_bytes(b"garbage")
    out = tmp_path / "out"
    _fails(capsys, [str(src), str(out), "participant", *BICUBIC, "--no-qc"],
           "1 written, 0 skipped, 1 failed")
    assert _outputs(out) == ["sub-01/anat/sub-01_res-x2_desc-bicubic_T1w.json",
                             "sub-01/anat/sub-01_res-x2_desc-bicubic_T1w.nii.gz"]
    page = (out / "dnsp-summary.html").read_text()
    assert '<tr class="failed">' in page and "cannot read" in page


def test_network_model_sidecar(tmp_path: Path) -> None:
    from dnsp.methods.pretrained import save_model_file
    from dnsp.nets import build_network

    torch.manual_seed(0)
    kwargs = {"n_blocks": 1, "n_feats": 4, "input_skip": True}
    ckpt = tmp_path / "tiny-x2.pt"
    save_model_file(build_network("edsr", **kwargs), "edsr", kwargs, 2, ckpt)
    src = tmp_path / "raw"
    make_synthetic_dataset(src, ("01",), None, ("T1w",), (12, 12, 2))
    out = tmp_path / "out"
    assert main(["bids", str(src), str(out), "participant", "--model", str(ckpt),
                 "--device", "cpu", "--threads", "1", "-q"]) == 0
    side = json.loads((out / "sub-01/anat/sub-01_res-x2_desc-dnsp_T1w.json").read_text())
    assert side["Method"] == "network" and side["Model"] == "tiny-x2.pt"
    assert side["Ensemble"] == 1 and side["AcquisitionAssumed"]["name"] == "gaussian"
    assert side["ConsistencyPSNR"] is None or np.isfinite(side["ConsistencyPSNR"])
    desc = json.loads((out / "dataset_description.json").read_text())
    assert "model tiny-x2.pt" in desc["GeneratedBy"][0]["Description"]


def test_summary_renders_in_headless_chromium(ds: Path, tmp_path: Path, chromium: str) -> None:
    browser = chromium
    out = tmp_path / "html"
    assert main(["bids", str(ds), str(out), "participant", *BICUBIC, "-q",
                 "--participant-label", "02"]) == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / "dnsp-summary.html").resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "<h1>dnsp BIDS summary, shard 1 of 1</h1>" in dom
    assert dom.count('<tr class="written">') == 2 and "sub-02_ses-1_res-x2" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, "--window-size=1200,800", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120, check=True)
    pixels = imread(shot)[..., :3]
    dark = pixels.max(axis=-1) < 0.05  # the thumbnails' black background, not the page
    assert dark.sum() > 5000  # the linked PNG thumbnails were loaded and drawn
