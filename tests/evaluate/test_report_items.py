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


def test_conclusion_states_difference_interval_and_significance() -> None:
    """The sentence of the demo report (issue 27): AP - NP, its interval and p, in words."""
    import pandas as pd

    from dnsp.evaluate.reporting import conclusion

    row = {"dataset": "BW", "scale": 2, "fraction": 1.0, "method_a": "DNSP-AP",
           "method_b": "EDSR-NP", "n": 40, "mean_a": 30.0, "mean_b": 30.01,
           "mean_diff": -0.01, "ci_low": -0.02, "ci_high": -0.0001, "sd_diff": 0.03,
           "cohen_dz": -0.3, "t": -2.0, "p_t": 0.048, "wilcoxon_w": 1.0, "p_wilcoxon": 0.05,
           "p_t_holm": 0.048, "p_wilcoxon_holm": 0.05}
    text = conclusion(pd.DataFrame([row]))
    assert text == ("**Conclusion:** DNSP-AP - EDSR-NP = -0.01 dB PSNR (dataset BW, scale 2, "
                    "fraction 1.0; 95 % CI -0.02 to -0.00 dB over 40 slices; paired t-test "
                    "p = 0.048, Holm): significant at the 5 % level; the difference is below "
                    "0.05 dB, smaller than what the training seed alone changes.")
    row.update(mean_diff=0.4, ci_low=0.3, ci_high=0.5, p_t_holm=0.2)
    text = conclusion(pd.DataFrame([row]))
    assert "not significant at the 5 % level" in text and "in favour of DNSP-AP" in text
    assert "no pair" in conclusion(pd.DataFrame([]))


def test_demo_report_names_the_pretrained_model_and_concludes(tmp_path) -> None:
    from dnsp.cli import main
    from dnsp.methods.pretrained import default_model

    out = tmp_path / "demo"
    assert main(["demo", "--budget", "smoke", "--out", str(out), "--quiet"]) == 0
    text = (out / "report.md").read_text(encoding="utf-8")
    assert f"is the shipped model `{default_model(2)}`" in text
    assert "**Conclusion:** DNSP-AP - EDSR-NP" in text
