"""Dihedral augmentation of patch pairs: group elements, pairing, seeding, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from dnsp.data.augment import (
    N_DIHEDRAL,
    dihedral_transform,
    random_dihedral,
    synthetic_skull_strip,
)


def test_transforms_golden_and_distinct() -> None:
    img = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(dihedral_transform(img, 0), img)
    assert torch.equal(dihedral_transform(img, 1), torch.tensor([[2.0, 4.0], [1.0, 3.0]]))
    assert torch.equal(dihedral_transform(img, 4), torch.tensor([[2.0, 1.0], [4.0, 3.0]]))
    assert torch.equal(dihedral_transform(img, 6), torch.tensor([[3.0, 4.0], [1.0, 2.0]]))
    big = torch.arange(9.0).reshape(3, 3)
    seen = {tuple(dihedral_transform(big, i).flatten().tolist()) for i in range(N_DIHEDRAL)}
    assert len(seen) == N_DIHEDRAL


def test_same_transform_for_input_and_target() -> None:
    x = torch.rand(64, 1, 6, 6)
    x2, y2 = random_dihedral(x, 2.0 * x + 1.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(y2, 2.0 * x2 + 1.0)
    # every sample is one of its own 8 transforms, and the draw uses several of them
    used = set()
    for b in range(x.shape[0]):
        match = [i for i in range(N_DIHEDRAL) if torch.equal(dihedral_transform(x[b], i), x2[b])]
        assert match
        used.add(match[0])
    assert len(used) > 4
    # 3-D blocks (B, 1, D, P, P) are transformed in-plane, the depth axis untouched
    v = torch.rand(4, 1, 3, 5, 5)
    v2, _ = random_dihedral(v, v.clone(), torch.Generator().manual_seed(1))
    assert v2.shape == v.shape
    torch.testing.assert_close(v2.sum(dim=(-2, -1)), v.sum(dim=(-2, -1)))


def test_seeded_draw_is_repeatable() -> None:
    x = torch.rand(16, 1, 4, 4)
    a = random_dihedral(x, x, torch.Generator().manual_seed(5))[0]
    b = random_dihedral(x, x, torch.Generator().manual_seed(5))[0]
    assert torch.equal(a, b)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="index"):
        dihedral_transform(torch.zeros(2, 2), 8)
    with pytest.raises(ValueError, match="at least 2 axes"):
        dihedral_transform(torch.zeros(3), 0)
    with pytest.raises(ValueError, match="same shape"):
        random_dihedral(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 5))
    with pytest.raises(ValueError, match="square"):
        random_dihedral(torch.zeros(2, 1, 4, 5), torch.zeros(2, 1, 4, 5))


def _disc_head(n: int = 64) -> np.ndarray:
    """A disc of radius 24 px: a 4 px 'scalp' ring at 0.9 around a 0.5 'brain', 0 outside."""
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    r = np.hypot(yy, xx)
    return np.where(r < 24, np.where(r >= 20, 0.9, 0.5), 0.0).astype(np.float32)


def test_skull_strip_golden_depth_without_roughness() -> None:
    head = _disc_head()
    # depth 0.25 * radius 24 = 6 px, no variation: keeps the pixels more than 6 px inside
    out = synthetic_skull_strip(head, np.random.default_rng(0), depth=(0.25, 0.25),
                                roughness=0.0)
    r = np.hypot(*(np.mgrid[:64, :64] - 31.5))
    assert out.dtype == head.dtype and out.shape == head.shape
    assert np.all(out[r < 17] == 0.5) and np.all(out[r > 19] == 0)
    assert set(np.unique(out)) <= {0.0, 0.5}  # only cut, never rescaled: a hard step to 0


def test_skull_strip_keeps_values_inside_and_is_seeded() -> None:
    head = _disc_head()
    a = synthetic_skull_strip(head, np.random.default_rng(3))
    b = synthetic_skull_strip(head, np.random.default_rng(3))
    c = synthetic_skull_strip(head, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    kept = a > 0
    np.testing.assert_array_equal(a[kept], head[kept])
    assert 0 < kept.sum() < (head > 0).sum()
    assert ndimage.label(kept)[1] == 1  # one connected "brain"


def test_skull_strip_empty_and_bad_arguments() -> None:
    empty = np.zeros((16, 16), np.float32)
    np.testing.assert_array_equal(synthetic_skull_strip(empty, np.random.default_rng(0)), empty)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="2-D"):
        synthetic_skull_strip(np.zeros((2, 16, 16)), rng)
    with pytest.raises(ValueError, match="depth"):
        synthetic_skull_strip(_disc_head(), rng, depth=(0.3, 0.1))
    with pytest.raises(ValueError, match="roughness"):
        synthetic_skull_strip(_disc_head(), rng, roughness=-1.0)
