"""Model-card sections on acquisitions."""

from dnsp.evaluate.card_acquisition import degradation_lines, input_lines, robustness_lines


def test_paper_and_mixture_entries() -> None:
    paper = degradation_lines({"variant": "AP"}, 2)
    assert len(paper) == 1 and "sigma = 1 HR voxels" in paper[0]
    entry = {"acquisition": {"name": "mixture", "components": [
        {"name": "gaussian", "sigma": [0.8, 1.2]}, {"name": "kspace", "noise": [0.0, 0.03]}],
        "weights": [3, 1]}, "inputs": ["zerofill", "bicubic", "spectral"],
        "training": {"acquisition_draws": 2, "init_from": "dnsp-edsr-ap-x2"}}
    mix = degradation_lines(entry, 2)
    assert "75 % gaussian sigma 0.8-1.2; 25 % kspace noise 0-0.03" in mix[0]
    assert "2 draws" in mix[0] and "zerofill, bicubic, spectral" in mix[1]
    assert any("k-space truncation" in line for line in input_lines(entry, 2))
    assert any("draws halos" in line for line in input_lines({}, 2))


def test_robustness_table() -> None:
    rows = [{"scale": 2, "case": "kspace", "head": "mr-gd", "bicubic": 28.0, "zerofill": 29.0,
             "model": 30.25, "model_name": "m", "gain": 1.25},
            {"scale": 4, "case": "kspace", "head": "mr-gd", "bicubic": 1, "zerofill": 1,
             "model": 1, "model_name": "m", "gain": 0}]
    lines = robustness_lines(rows, 2)
    assert "| kspace | mr-gd | 28.00 | 29.00 | 30.25 (`m`) | +1.25 |" in lines
    assert robustness_lines(rows, 3) == []
