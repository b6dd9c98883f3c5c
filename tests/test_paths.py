"""The one shared-data locator."""

from __future__ import annotations

from pathlib import Path

import pytest

import dnsp.paths as paths
from dnsp.paths import ENV_VAR, shared_data_root


def test_env_override_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert shared_data_root() == tmp_path / "elsewhere"  # used as given, even if absent


def test_env_override_expands_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "~/dnsp-data")
    assert shared_data_root() == Path.home() / "dnsp-data"


def test_repo_relative_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    repo = Path(paths.__file__).resolve().parents[2]
    assert (repo / "pyproject.toml").is_file()
    expected = repo.parent / "shared" / "data"
    if expected.is_dir():
        assert shared_data_root() == expected
    else:
        assert shared_data_root() in (expected, Path.cwd().parent / "shared" / "data")


def test_cwd_relative_when_no_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(paths, "_repo_root", lambda: None)
    work = tmp_path / "work"
    (tmp_path / "shared" / "data").mkdir(parents=True)
    work.mkdir()
    monkeypatch.chdir(work)
    assert shared_data_root().resolve() == (tmp_path / "shared" / "data").resolve()


def test_absent_everywhere_gives_repo_relative(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(paths, "_repo_root", lambda: tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    assert shared_data_root() == tmp_path / "shared" / "data"
    assert not shared_data_root().is_dir()
