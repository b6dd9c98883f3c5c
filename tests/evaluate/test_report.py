"""Report writer: Markdown + self-contained HTML, and a headless-Chromium render check."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread, imsave

from dnsp.evaluate.report import Report, environment_info, format_cell


@pytest.fixture
def red_png(tmp_path: Path) -> Path:
    """A 60x120 pure-red PNG outside the report folder."""
    path = tmp_path / "src" / "red.png"
    path.parent.mkdir()
    img = np.zeros((60, 120, 3))
    img[..., 0] = 1.0
    imsave(path, img)
    return path


def _report(red_png: Path) -> Report:
    rep = Report("DNSP <run> & test")
    rep.add_figure(red_png, caption="A red block")
    rep.add_heading("Results")
    rep.add_paragraph("PSNR in **dB**, `data_range = 1`.\n\n- first item\n- second | item")
    table = pd.DataFrame(
        {"method": ["bicubic", "dnsp|AP"], "psnr": [29.0912345, np.nan], "n": [40, 40]}
    )
    rep.add_table(table, caption="Mean PSNR")
    rep.add_config(
        "experiment",
        {
            "scale": 2,
            "alpha": 1e-5,
            "path": Path("/x/y"),
            "seed": np.int64(3),
            "fractions": (0.25, 0.5),
        },
    )
    return rep


def test_markdown_and_html_files(red_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    md_path, html_path = _report(red_png).write(out)
    assert (md_path.name, html_path.name) == ("report.md", "report.html")
    md = md_path.read_text()
    assert md.startswith("# DNSP <run> & test\n")
    assert "![A red block](figures/red.png)" in md  # copied beside the report, linked relatively
    assert (out / "figures" / "red.png").read_bytes() == red_png.read_bytes()
    assert "| method | psnr | n |" in md and "| dnsp\\|AP | n/a | 40 |" in md
    assert "| bicubic | 29.09 | 40 |" in md
    assert "```yaml\nscale: 2\nalpha: 1.0e-05\npath: /x/y\nseed: 3\nfractions:\n- 0.25" in md
    assert "## Environment" in md and "| numpy |" in md and "| dnsp | 0.1.0 |" in md

    page = html_path.read_text()
    assert "<title>DNSP &lt;run&gt; &amp; test</title>" in page
    b64 = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert b64 is not None and base64.b64decode(b64.group(1)) == red_png.read_bytes()
    assert "<strong>dB</strong>" in page and "<code>data_range = 1</code>" in page
    assert "<li>second | item</li>" in page
    assert "<td>dnsp|AP</td><td>n/a</td><td>40</td>" in page
    assert 'src="figures/' not in page and "http" not in page.replace("http-equiv", "")
    assert not list(out.glob(".*part*"))  # no temporary files left


def test_figure_inside_run_folder_is_linked_not_copied(red_png: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "plots").mkdir(parents=True)
    inside = out / "plots" / "fig.png"
    shutil.copyfile(red_png, inside)
    rep = Report("r").add_figure(inside).add_environment({"git": "abc123"})
    md_path, _ = rep.write(out, stem="summary")
    md = md_path.read_text()
    assert "](plots/fig.png)" in md and not (out / "figures").exists()
    assert "| git | abc123 |" in md and md.count("## Environment") == 1


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="title"):
        Report(" ")
    rep = Report("r")
    with pytest.raises(ValueError, match="not found"):
        rep.add_figure(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="unsupported"):
        rep.add_figure(tmp_path / "x.gif")
    with pytest.raises(ValueError, match="DataFrame"):
        rep.add_table([[1, 2]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        rep.add_heading("h", level=1)


def test_helpers() -> None:
    assert format_cell(0.123456789) == "0.1235"
    assert format_cell(float("inf")) == "inf" and format_cell(np.float32("nan")) == "n/a"
    assert format_cell(7) == "7" and format_cell(np.bool_(True)) == "True"
    env = environment_info()
    assert env["python"].count(".") == 2 and "torch" in env and "scikit-image" in env


def test_html_renders_in_headless_chromium(red_png: Path, tmp_path: Path, chromium: str) -> None:
    browser = chromium
    _, html_path = _report(red_png).write(tmp_path / "run")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = html_path.resolve().as_uri()
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "<h1>DNSP &lt;run&gt; &amp; test</h1>" in dom
    assert dom.count("<table>") == 2 and "<td>bicubic</td>" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, "--window-size=900,700", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = imread(shot)[..., :3]
    red = (pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.1) & (pixels[..., 2] < 0.1)
    assert red.sum() > 1000  # the inlined figure was decoded and drawn
