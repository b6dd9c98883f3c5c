"""SRSW (Trinh et al. 2014): sparse non-negative weights, library cache, quality."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import nnls

from dnsp.methods import get_method
from dnsp.methods.srsw import SRSW, nonnegative_sparse_weights

Phantom = Callable[[int, int, int], np.ndarray]
Degrade = Callable[[np.ndarray, int], np.ndarray]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def _problem(seed: int, b: int = 20, d: int = 25, k: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((b, d, k))
    y = np.einsum(
        "bdk,bk->bd", feats, np.abs(rng.standard_normal((b, k)))
    ) + 0.3 * rng.standard_normal((b, d))
    return torch.from_numpy(feats), torch.from_numpy(y)


def test_nnls_weights_match_scipy() -> None:
    feats, y = _problem(0)
    w = nonnegative_sparse_weights(feats, y, sparsity=0.0, n_iter=2000).numpy()
    assert np.all(w >= 0)
    for i in range(feats.shape[0]):
        ref, _ = nnls(feats[i].numpy(), y[i].numpy())
        np.testing.assert_allclose(w[i], ref, atol=1e-6)


def test_weights_nonnegative_and_sparse() -> None:
    feats, y = _problem(1)
    # y mixes all k columns with positive weights plus noise; negative-only directions exist
    dense = nonnegative_sparse_weights(feats, y, sparsity=0.0).numpy()
    sparse = nonnegative_sparse_weights(feats, y, sparsity=0.3).numpy()
    assert np.all(sparse >= 0) and np.all(dense >= 0)
    nnz_dense = (dense > 0).sum(1)
    nnz_sparse = (sparse > 0).sum(1)
    assert np.all(nnz_sparse <= nnz_dense)
    assert nnz_sparse.mean() < 0.75 * feats.shape[2]
    assert (sparse == 0).any(axis=1).all()  # every patch has exact zeros
    assert np.all(nonnegative_sparse_weights(feats, y, sparsity=1.0).numpy() == 0)
    # a target anti-correlated with every neighbour (F^T y < 0) gets w = 0
    pos = feats.abs()
    assert np.all(nonnegative_sparse_weights(pos, -pos.sum(2), sparsity=0.0).numpy() == 0)


def test_weights_reject_bad_input() -> None:
    feats, y = _problem(2)
    with pytest.raises(ValueError):
        nonnegative_sparse_weights(feats, y, sparsity=-0.1)
    with pytest.raises(ValueError):
        nonnegative_sparse_weights(feats, y[:, :3], sparsity=0.1)


def _fitted(
    make_phantom: Phantom,
    tmp_path: Path,
    **kw: object,
) -> SRSW:
    train = [make_phantom(8, 24, seed=s) for s in (10, 11, 12)]
    m = SRSW(cache_dir=tmp_path, **kw)  # type: ignore[arg-type]
    return m.fit(train, 2)


def test_srsw_beats_bicubic_and_weights_are_sparse(
    tmp_path: Path, small_stack: np.ndarray, make_phantom: Phantom, make_lr: Degrade
) -> None:
    m = _fitted(make_phantom, tmp_path)
    lr = make_lr(small_stack, 2)
    sr = m.upscale_stack(lr, 2)
    bic = get_method("bicubic").upscale_stack(lr, 2)
    assert sr.shape == small_stack.shape and sr.dtype == np.float32
    assert 0.0 <= sr.min() and sr.max() <= 1.0
    assert _psnr(small_stack, sr) > _psnr(small_stack, bic) + 0.5
    w = m.last_weights
    assert w is not None and w.shape[1] == m.k
    assert np.all(w >= 0)
    assert ((w > 0).sum(1) < m.k).mean() > 0.5  # most patches use fewer than k neighbours


def test_back_projection_reduces_lr_residual(
    tmp_path: Path, small_stack: np.ndarray, make_phantom: Phantom, make_lr: Degrade
) -> None:
    lr = make_lr(small_stack, 2)
    m = _fitted(make_phantom, tmp_path, clip=False)
    no_bp = _fitted(make_phantom, tmp_path, clip=False, bp_iter=0)
    r_bp = np.abs(make_lr(m.upscale_stack(lr, 2), 2) - lr).mean()
    r_none = np.abs(make_lr(no_bp.upscale_stack(lr, 2), 2) - lr).mean()
    assert r_bp < 0.5 * r_none


def test_library_cache(tmp_path: Path, make_phantom: Phantom) -> None:
    train = [make_phantom(4, 24, seed=5)]
    m = SRSW(cache_dir=tmp_path).fit(train, 2)
    files = list(tmp_path.glob("library-*.npz"))
    assert len(files) == 1 and m.library_size > 0
    key = m.library_key(train, 2)
    assert files[0].name == f"library-{key}.npz"
    # a second instance loads the cached library (same arrays)
    m2 = SRSW(cache_dir=tmp_path).fit(train, 2)
    assert m2.library_size == m.library_size
    assert len(list(tmp_path.glob("library-*.npz"))) == 1
    # the key depends on the data, the scale and the library parameters
    other = [train[0].copy()]
    other[0][0, 0, 0] += 0.01
    assert SRSW().library_key(other, 2) != key
    assert SRSW().library_key(train, 3) != key
    assert SRSW(patch=5).library_key(train, 2) != key
    assert SRSW(k=4).library_key(train, 2) == key  # k does not change the library
    SRSW(use_cache=False, cache_dir=tmp_path / "none").fit(train, 2)
    assert not (tmp_path / "none").exists()


def test_scale_mismatch_and_bad_params(tmp_path: Path, make_phantom: Phantom) -> None:
    m = SRSW(cache_dir=tmp_path).fit([make_phantom(4, 24, seed=6)], 2)
    with pytest.raises(ValueError, match="scale"):
        m.upscale_stack(np.zeros((1, 8, 8), np.float32), 3)
    for kw in ({"patch": 1}, {"k": 0}, {"sparsity": -1.0}, {"stride": 9}, {"bp_iter": -1}):
        with pytest.raises(ValueError):
            SRSW(**kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SRSW().fit([], 2)


@pytest.mark.parametrize("scale", [3, 4])
def test_other_scales(tmp_path: Path, scale: int, make_phantom: Phantom, make_lr: Degrade) -> None:
    train = [make_phantom(6, 24, seed=s) for s in (20, 21)]
    m = SRSW(cache_dir=tmp_path, patch=scale + 3).fit(train, scale)
    hr = make_phantom(3, 24, seed=22)
    lr = make_lr(hr, scale)
    sr = m.upscale_stack(lr, scale)
    bic = get_method("bicubic").upscale_stack(lr, scale)
    assert sr.shape == hr.shape
    assert _psnr(hr, sr) > _psnr(hr, bic)


def test_default_library_from_embedded_phantom(tmp_path: Path, make_lr: Degrade) -> None:
    from dnsp.methods.srsw import default_training_stacks

    stacks = default_training_stacks()
    assert len(stacks) == 1 and stacks[0].shape[0] == 40
    assert 0.0 <= stacks[0].min() and stacks[0].max() <= 1.0
    m = SRSW(cache_dir=tmp_path, max_library=5000)
    hr = stacks[0][20:21, 60:108, 60:108]
    out = m.upscale_stack(make_lr(hr, 2), 2)
    assert out.shape == (1, 48, 48) and m.library_size == 5000
    assert len(list(tmp_path.glob("library-*.npz"))) == 1


def test_input_smaller_than_a_patch(tmp_path: Path, make_phantom: Phantom) -> None:
    m = SRSW(cache_dir=tmp_path).fit([make_phantom(4, 24, seed=7)], 2)
    out = m.upscale_stack(np.full((1, 2, 3), 0.5, np.float32), 2)
    assert out.shape == (1, 4, 6)
    np.testing.assert_allclose(out, 0.5, atol=1e-5)
    with pytest.raises(ValueError, match="at least 7"):
        SRSW(cache_dir=tmp_path).fit([np.zeros((2, 6, 6), np.float32)], 2)
