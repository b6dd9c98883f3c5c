from pathlib import Path

from dnsp.cli import main


def test_demo_smoke(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--budget", "smoke", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Bicubic" in printed and "EDSR-NP" in printed and "DNSP-AP" in printed
    assert "mean PSNR gain over bicubic" in printed
    assert (out / "report.md").is_file() and (out / "report.html").is_file()


def test_cli_help_lists_every_command(capsys) -> None:
    assert main([]) == 0
    text = capsys.readouterr().out
    for cmd in ("demo", "degrade", "upscale", "train", "evaluate", "reproduce", "tune",
                "lowfield", "register"):
        assert cmd in text, cmd


def test_errors_are_one_line_and_interrupts_exit_130(monkeypatch, capsys) -> None:
    import dnsp.cli.demo as demo
    from dnsp.errors import InputError, Interrupted

    def interrupted(args):
        raise Interrupted("stopped in epoch 2; rerun the same command to resume")

    monkeypatch.setattr(demo, "run", interrupted)
    assert main(["demo", "--out", "x"]) == 130
    assert capsys.readouterr().err.strip().endswith("rerun the same command to resume")

    def bad(args):
        raise InputError("no such file: x.nii.gz")

    monkeypatch.setattr(demo, "run", bad)
    assert main(["demo"]) == 2
    assert capsys.readouterr().err == "dnsp demo: error: no such file: x.nii.gz\n"

    def bug(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(demo, "run", bug)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "Traceback" not in err
