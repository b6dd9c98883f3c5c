"""Dihedral augmentation of patch pairs: group elements, pairing, seeding, bad arguments."""

from __future__ import annotations

import pytest
import torch

from dnsp.data.augment import N_DIHEDRAL, dihedral_transform, random_dihedral


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
