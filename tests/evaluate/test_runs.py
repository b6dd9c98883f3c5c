"""Evaluation sets (with their acquisition model) and per-slice scoring of SR methods."""

from pathlib import Path

import numpy as np
import torch

from dnsp.acquisition import get_acquisition
from dnsp.data.spec import SRDataSpec
from dnsp.evaluate.runs import (
    EvalSet,
    eval_acquisition,
    evaluate_method,
    load_eval_set,
    subject_runs,
)
from dnsp.methods import build_method, get_method
from dnsp.methods.pretrained import save_model_file


def test_subject_runs() -> None:
    assert list(subject_runs(["a", "a", "b", "c", "c"])) == [("a", 0, 2), ("b", 2, 3),
                                                              ("c", 3, 5)]
    assert list(subject_runs([])) == []


def test_evaluate_method_progress_bar_on_stderr(capsys) -> None:
    es = load_eval_set("BW", SRDataSpec(source="embedded", scale=2), max_slices=2)
    quiet, _ = evaluate_method(get_method("bicubic"), es)
    assert capsys.readouterr().err == ""
    loud, _ = evaluate_method(get_method("bicubic"), es, progress=True)
    err = capsys.readouterr().err
    assert "evaluate bicubic" in err and "2/2" in err
    assert [r.psnr for r in loud] == [r.psnr for r in quiet]


def test_bicubic_on_embedded_test_slab() -> None:
    es = load_eval_set("BW", SRDataSpec(source="embedded", scale=2), max_slices=2)
    assert len(es) == 2 and es.hr.shape[-2:] == (es.lr.shape[-2] * 2, es.lr.shape[-1] * 2)
    records, preds = evaluate_method(get_method("bicubic"), es)
    assert preds.shape == es.hr.shape and len(records) == 2
    # centre-aligned bicubic on the BrainWeb phantom at x2: about 28-30 dB
    assert all(25 < r.psnr < 33 and 0.7 < r.ssim < 1 for r in records)


def test_eval_acquisition_per_source() -> None:
    assert eval_acquisition(SRDataSpec(source="embedded", scale=3)) == get_acquisition(
        "gaussian", scale=3)
    pairs = eval_acquisition(SRDataSpec(source="pairs", root="x", scale=2))
    assert pairs == get_acquisition("identity") and pairs.scale == 1


def test_network_on_registered_pairs(tmp_path: Path, tiny_net: torch.nn.Module,
                                     tiny_kwargs: dict) -> None:
    """Pairs: LR on the HR grid goes through the network as it is (scale 1)."""
    rng = np.random.default_rng(0)
    hr = rng.random((3, 16, 14)).astype(np.float32)
    lr = np.clip(hr + 0.05 * rng.standard_normal(hr.shape), 0, 1).astype(np.float32)
    es = EvalSet("pairs", get_acquisition("identity"), hr, lr, ["a", "a", "b"], [0, 1, 0])
    assert es.scale == 1 and len(es) == 3
    save_model_file(tiny_net, "edsr", tiny_kwargs, 2, tmp_path / "m.pt")
    method = build_method(str(tmp_path / "m.pt"), acquisition=es.acquisition, name="net")
    records, preds = evaluate_method(method, es)
    with torch.inference_mode():
        ref = tiny_net(torch.from_numpy(lr)[:, None])[:, 0].clamp(0, 1).numpy()
    np.testing.assert_allclose(preds, ref, rtol=0, atol=2.5e-7)
    assert [r.method for r in records] == ["net"] * 3 and {r.scale for r in records} == {1}
