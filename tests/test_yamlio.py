"""The one YAML reader (``base:`` inheritance) and the one deep-merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnsp.errors import InputError
from dnsp.yamlio import deep_merge, read_yaml


def test_deep_merge_nested_and_does_not_modify_inputs() -> None:
    base = {"a": 1, "b": {"c": 2, "d": {"e": 3}}, "l": [1, 2]}
    top = {"b": {"d": {"f": 4}, "c": 5}, "l": [3], "g": None}
    out = deep_merge(base, top)
    assert out == {"a": 1, "b": {"c": 5, "d": {"e": 3, "f": 4}}, "l": [3], "g": None}
    assert base == {"a": 1, "b": {"c": 2, "d": {"e": 3}}, "l": [1, 2]}
    assert top == {"b": {"d": {"f": 4}, "c": 5}, "l": [3], "g": None}


def test_deep_merge_replaces_mapping_by_scalar_and_back() -> None:
    assert deep_merge({"a": {"b": 1}}, {"a": 3}) == {"a": 3}
    assert deep_merge({"a": 3}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert deep_merge({}, {}) == {}


def test_read_yaml_base_chain(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "root.yml").write_text("x: {a: 1, b: 2}\ny: 1\n")
    (tmp_path / "sub" / "mid.yml").write_text("base: ../root.yml\nx: {b: 3}\n")
    (tmp_path / "top.yml").write_text("base: sub/mid.yml\nx: {c: 4}\nz: [1, 2]\n")
    assert read_yaml(tmp_path / "top.yml") == {"x": {"a": 1, "b": 3, "c": 4}, "y": 1,
                                               "z": [1, 2]}
    assert read_yaml(str(tmp_path / "root.yml")) == {"x": {"a": 1, "b": 2}, "y": 1}


def test_read_yaml_empty_file_is_empty_mapping(tmp_path: Path) -> None:
    (tmp_path / "e.yml").write_text("")
    assert read_yaml(tmp_path / "e.yml") == {}


@pytest.mark.parametrize(("text", "match"), [
    ("a: [1, 2\n", "not valid YAML"),
    ("- 1\n- 2\n", "must contain a mapping"),
    ("base: 3\n", "must be a file path"),
    ("base: self.yml\n", "loops back"),
    ("base: missing.yml\n", "not found"),
])
def test_read_yaml_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "self.yml"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        read_yaml(path)


def test_read_yaml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_yaml(tmp_path / "nope.yml")
