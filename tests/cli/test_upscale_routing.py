"""``dnsp upscale`` without --acquisition: the per-file line names the network that served the
volume and why (issue 28: the robust default routes each volume by its estimate)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from dnsp.acquisition import get_acquisition
from dnsp.cli import main
from dnsp.data.embedded import default_phantom
from dnsp.methods.pretrained import models_dir


def _reduced(name: str) -> np.ndarray:
    """A 96 x 112 x 4 crop of the embedded phantom reduced in-plane by ``name`` at x2."""
    data = np.asarray(default_phantom().data, dtype=np.float32)
    hr = np.moveaxis(data[40:136, 50:162, 50:54], 2, 0)
    hr = hr / np.percentile(hr, 99.9)
    lr = get_acquisition(name, scale=2).simulate(torch.from_numpy(hr),
                                                 torch.Generator().manual_seed(0))
    return np.moveaxis(lr.numpy(), 0, 2) * 1000.0


@pytest.mark.parametrize(("acquisition", "served"), [
    ("gaussian", "with dnsp-edsr-mix-x2 (robust default: read as a smooth band limit and "
                 "deblurred; for a scan at its own resolution, --acquisition kspace keeps it "
                 "as acquired, noise gate 2, flat gate 0.04 x10)"),
    # the phantom's 3 % noise makes its k-space reduction unsure: a scan read at its own
    # resolution, given to the k-space model and projected onto its data
    ("kspace", "with dnsp-edsr-ks-x2 (unknown: read as k-space at its own resolution, its "
               "model, projected onto the data, noise gate 2, flat gate 0.04)"),
])
def test_the_line_names_the_network_that_served(acquisition: str, served: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    if not (models_dir() / "manifest.json").is_file():
        pytest.skip("no shipped models")
    inp = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(_reduced(acquisition), np.diag([2.0, 2.0, 1.0, 1.0])), str(inp))
    out = tmp_path / "out.nii.gz"
    assert main(["upscale", str(inp), str(out), "--scale", "2", "--threads", "1"]) == 0
    line = capsys.readouterr().out
    assert served in line
    expected = "unknown: read as a scan at its own resolution" if acquisition == "kspace" \
        else "estimated"
    assert expected in line
    assert nib.load(str(out)).shape == (96, 112, 4)
