"""The demo report's presentation (issue 18): LR input panel, readable Fig. 8, title, appendix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from dnsp.evaluate.figures import fig8_learned_filters, fig_visual_comparison
from dnsp.evaluate.report import Report

ROOT = Path(__file__).resolve().parents[2]


def _slice() -> np.ndarray:
    yy, xx = np.mgrid[0:32, 0:40]
    return (0.5 + 0.4 * np.sin(xx / 4.0) * np.cos(yy / 5.0)).astype(np.float32)


def _width(path: Path) -> int:
    return int(imread(str(path)).shape[1])


def test_visual_comparison_has_an_lr_input_panel(tmp_path: Path) -> None:
    hr = _slice()
    lr = hr.reshape(16, 2, 20, 2).mean(axis=(1, 3))
    outs = {"bicubic": hr * 0.9, "dnsp": hr}
    without = _width(fig_visual_comparison(outs, hr, tmp_path / "a.png"))
    with_lr = _width(fig_visual_comparison(outs, hr, tmp_path / "b.png", lr=lr))
    assert with_lr > without * 1.2  # four panels instead of three
    with pytest.raises(ValueError, match="does not tile"):
        fig_visual_comparison(outs, hr, tmp_path / "c.png", lr=lr[:-1])


def test_fig8_wraps_to_stay_readable_at_page_width(tmp_path: Path) -> None:
    filters = np.random.default_rng(0).normal(size=(8, 3, 3))
    path = fig8_learned_filters(filters, _slice(), tmp_path / "fig8.png")
    img = imread(str(path))
    # 9 panels in two rows of at most 5: about 10 in wide at 120 dpi, not 17 in
    assert img.shape[1] <= 1250 and img.shape[0] > img.shape[1] * 0.6


def test_configs_are_collapsed_in_an_appendix(tmp_path: Path) -> None:
    rep = Report("dnsp demo: DNSP on the embedded BrainWeb phantom (x2), budget cpu")
    rep.add_paragraph("text")
    rep.add_config("experiment demo", {"a": 1, "b": [1, 2]})
    md, html = rep.write(tmp_path)
    md_text, html_text = md.read_text(), html.read_text()
    assert "<details>\n<summary>Configuration: experiment demo</summary>" in md_text
    assert "<details><summary>Configuration: experiment demo</summary><pre>" in html_text
    assert ") (" not in md_text.splitlines()[0]


def test_build_report_title_and_appendix_order() -> None:
    src = (ROOT / "src" / "dnsp" / "evaluate" / "reporting.py").read_text()
    assert '(budget: {budget_name})' not in src
    assert src.index("rep.add_environment()") < src.index('"Appendix: configurations"')


def test_demo_output_folder_is_ignored() -> None:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    assert "dnsp-demo/" in lines
