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
