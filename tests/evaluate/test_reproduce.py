"""Smoke runs of ``dnsp reproduce`` (seconds-long budgets) through the command line."""

from pathlib import Path

import pandas as pd

from dnsp.cli import main


def test_reproduce_table1_smoke_and_resume(tmp_path: Path, capsys) -> None:
    out = tmp_path / "t1"
    assert main(["reproduce", "table1", "--budget", "smoke", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "DNSP-AP" in printed and "report:" in printed
    df = pd.read_csv(out / "results" / "per_slice.csv")
    assert set(df["method"]) == {"Bicubic", "DNSP-NP", "DNSP-LR", "DNSP-FS", "DNSP-LS", "DNSP-AP"}
    assert df["psnr"].notna().all() and len(df) == 6 * 3
    html = (out / "report.html").read_text()
    assert "<table" in html and "data:image/png;base64," in html and "Paired comparisons" in html
    for fig in ("fig8_DNSP-AP_BW-x2-f100.png", "fig9_BW-x2-f100.png", "visual_BW-x2.png"):
        assert (out / "figures" / fig).is_file()
    # a second run resumes from the stored parts: nothing is retrained
    stamp = (out / "runs" / "BW-x2-f100" / "DNSP-AP" / "last.pt").stat().st_mtime
    assert main(["reproduce", "table1", "--budget", "smoke", "--out", str(out), "--quiet"]) == 0
    assert (out / "runs" / "BW-x2-f100" / "DNSP-AP" / "last.pt").stat().st_mtime == stamp


def test_reproduce_unknown_experiment(tmp_path: Path, capsys) -> None:
    assert main(["reproduce", "table7", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid experiments" in err


def test_reproduce_registered_pairs_smoke(tmp_path: Path, capsys) -> None:
    """table5 derives a registered-pairs folder from the phantom before training (Sec. IV-F)."""
    out = tmp_path / "t5"
    assert main(["reproduce", "table5", "--budget", "smoke", "--out", str(out), "--quiet"]) == 0
    assert (out / "derived" / "BW-pairs-registered_pairs" / "done.json").is_file()
    df = pd.read_csv(out / "results" / "per_slice.csv")
    assert set(df["method"]) == {"EDSR-TVLR", "EDSR-TVLR-weak", "DNSP-EDSR-AP"}
    assert df["psnr"].notna().all()


def test_reproduce_fig15_smoke_compares_within_each_fraction(tmp_path: Path) -> None:
    """Fig. 15 scores the same test slices once per training fraction."""
    out = tmp_path / "f15"
    assert main(["reproduce", "fig15", "--budget", "smoke", "--out", str(out), "--quiet"]) == 0
    df = pd.read_csv(out / "results" / "per_slice.csv")
    assert sorted(df["fraction"].unique()) == [0.5, 1.0]
    assert set(df["method"]) == {"EDSR", "DNSP-EDSR-AP"} and len(df) == 2 * 2 * 3
    report = (out / "report.md").read_text()
    rows = [ln for ln in report.splitlines() if ln.startswith("|")]
    assert sum("DNSP-EDSR-AP - EDSR" in ln for ln in rows) == 2  # one paired row per fraction
    assert "**Conclusion:** DNSP-EDSR-AP - EDSR = " in report  # worded once, first row
    assert (out / "figures" / "fig15_fraction.png").is_file()
