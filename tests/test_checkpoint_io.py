"""dnsp.checkpoint_io.read_torch_file: the one reader of dnsp's own torch files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnsp.checkpoint_io import read_torch_file
from dnsp.errors import InputError


def test_round_trip_of_plain_values(tmp_path: Path) -> None:
    obj = {"format": "x", "w": torch.arange(4.0), "n": 3, "names": ["a", "b"]}
    torch.save(obj, tmp_path / "a.pt")
    back = read_torch_file(tmp_path / "a.pt")
    assert back.keys() == obj.keys() and torch.equal(back["w"], obj["w"])
    assert back["w"].device.type == "cpu"


class _Odd:
    """A class pickled by reference: loading it would run code from this module."""


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    torch.save({"odd": _Odd()}, tmp_path / "odd.pt")
    with pytest.raises(InputError, match="cannot read model file") as info:
        read_torch_file(tmp_path / "odd.pt", what="model file")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("content", "match"), [
    (None, "checkpoint not found"),
    (b"", "checkpoint is empty"),
    (b"not a torch file", "cannot read checkpoint"),
])
def test_bad_files(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "c.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        read_torch_file(path)
