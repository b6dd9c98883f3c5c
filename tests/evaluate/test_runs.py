import numpy as np
import torch

from dnsp.methods import get_method
from dnsp.data.datasets import SRDataSpec
from dnsp.evaluate.runs import SameGridNetwork, evaluate_method, load_eval_set, subject_runs


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


def test_same_grid_network_identity() -> None:
    x = np.random.default_rng(0).random((3, 10, 12)).astype(np.float32)
    out = SameGridNetwork(torch.nn.Identity(), batch=2).upscale_stack(x, 1)
    np.testing.assert_array_equal(out, x)
