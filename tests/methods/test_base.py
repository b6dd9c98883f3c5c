"""The method interface and registry (docs/architecture.md, "Methods")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnsp.errors import InputError
from dnsp.methods import SRMethod, available_methods, get_method
from dnsp.methods.base import check_lr_stack
from dnsp.ops import bicubic_upscale


def test_available_methods() -> None:
    assert available_methods() == ["bicubic", "lrtv", "srsw", "zerofill"]


def test_unknown_method_lists_valid_names() -> None:
    with pytest.raises(InputError, match="bicubic, lrtv, srsw"):
        get_method("nearest")
    with pytest.raises(ValueError):
        get_method("edsr")


def test_get_method_passes_params_and_is_case_insensitive() -> None:
    m = get_method("LRTV", lambda_tv=0.5, max_iter=3)
    assert isinstance(m, SRMethod)
    assert m.name == "lrtv" and m.lambda_tv == 0.5 and m.max_iter == 3
    with pytest.raises(TypeError):
        get_method("bicubic", lambda_tv=1.0)


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((1, 2, 3, 4)), np.zeros((0, 3, 3))])
def test_check_lr_stack_rejects_shapes(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        check_lr_stack(bad, 2)


def test_check_lr_stack_rejects_scale_and_nan() -> None:
    with pytest.raises(ValueError, match="scale"):
        check_lr_stack(np.zeros((1, 4, 4)), 1)
    with pytest.raises(ValueError, match="scale"):
        check_lr_stack(np.zeros((1, 4, 4)), 2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        check_lr_stack(np.full((1, 4, 4), np.nan), 2)


def test_bicubic_matches_ops_and_clips() -> None:
    rng = np.random.default_rng(0)
    lr = rng.uniform(0, 1, (3, 7, 9)).astype(np.float32)
    ref = bicubic_upscale(torch.from_numpy(lr).to(torch.float64), 3).numpy()
    raw = get_method("bicubic", clip=False).upscale_stack(lr, 3)
    assert raw.shape == (3, 21, 27) and raw.dtype == np.float32
    np.testing.assert_allclose(raw, ref, atol=1e-6)
    assert raw.max() > 1.0 or raw.min() < 0.0  # Keys overshoots on random data
    clipped = get_method("bicubic").upscale_stack(lr, 3)
    np.testing.assert_allclose(clipped, np.clip(ref, 0, 1), atol=1e-6)


def test_bicubic_keeps_constant_image() -> None:
    lr = np.full((2, 5, 6), 0.4, dtype=np.float32)
    np.testing.assert_allclose(get_method("bicubic").upscale_stack(lr, 2), 0.4, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 1, 5), (2, 4, 3)])
@pytest.mark.parametrize("name", ["bicubic", "lrtv"])
def test_tiny_inputs_keep_the_hr_grid(name: str, shape: tuple[int, int, int]) -> None:
    lr = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
    out = (
        get_method(name, max_iter=5).upscale_stack(lr, 2)
        if name == "lrtv"
        else get_method(name).upscale_stack(lr, 2)
    )
    assert out.shape == (shape[0], 2 * shape[1], 2 * shape[2]) and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
