"""D4 on the last two axes: every element composed with its inverse is the identity."""

from __future__ import annotations

import pytest
import torch

from dnsp.ops import N_DIHEDRAL, dihedral_inverse, dihedral_transform


def test_inverse_undoes_every_element() -> None:
    x = torch.arange(24.0).reshape(2, 3, 4)
    for index in range(N_DIHEDRAL):
        back = dihedral_transform(dihedral_transform(x, index), dihedral_inverse(index))
        assert torch.equal(back, x)
    assert [dihedral_inverse(i) for i in range(N_DIHEDRAL)] == [0, 3, 2, 1, 4, 5, 6, 7]


def test_inverse_rejects_bad_index() -> None:
    with pytest.raises(ValueError, match="index"):
        dihedral_inverse(-1)
