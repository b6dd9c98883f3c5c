"""Typed YAML configs: defaults, validation messages, overrides, base files, shipped configs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dnsp.errors import InputError
from dnsp.train.config import (
    TrainConfig,
    config_to_dict,
    load_config,
    parse_overrides,
    save_config,
)

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_the_papers_protocol() -> None:
    cfg = load_config(None)
    assert (cfg.optim.lr, cfg.optim.batch_size, cfg.optim.epochs) == (1e-4, 64, 50)
    assert (cfg.loss.alpha, cfg.loss.beta, cfg.loss.gamma, cfg.loss.delta) == (
        1e-5, 5e-3, 1e-7, 0.01)
    assert cfg.loss.n_filters == 8 and cfg.data.patch == 40


def test_overrides_are_typed_and_nested() -> None:
    cfg = load_config(None, ["loss.alpha=2e-5", "model.params.n_blocks=3", "optim.betas=[0.5, 0.9]",
                             "data.pattern=null", "loss.variant=tvlr"])
    assert cfg.loss.alpha == 2e-5 and isinstance(cfg.loss.alpha, float)
    assert cfg.model.params == {"n_blocks": 3}
    assert cfg.optim.betas == (0.5, 0.9)
    assert cfg.loss.variant == "TVLR"
    assert parse_overrides(["a.b=1", "a.c=x"]) == {"a": {"b": 1, "c": "x"}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("loss.alpah=1", "unknown config key 'loss.alpah'; valid keys in 'loss': variant, alpha"),
        ("lost.alpha=1", "valid keys at the top level: name, model, loss, data, optim, run"),
        ("loss.variant=XX", "not one of NP, LR, FS, LS, AP, TVLR"),
        ("optim.batch_size=1.5", "optim.batch_size must be an integer"),
        ("optim.lr=fast", "optim.lr must be a number"),
        ("run.deterministic=maybe", "run.deterministic must be true or false"),
        ("run.device=tpu", "run.device 'tpu'"),
        ("model.name=vdsr", "valid names: dcsrn, dcsrn2d, edsr"),
        ("loss.alpha=-1", "loss.alpha must be >= 0"),
        ("optim.betas=[0.9]", "optim.betas must be a list of 2 values"),
        ("nonsense", "not of the form section.key=value"),
        ("data.strip_fraction=1.5", "data.strip_fraction must be in [0, 1]"),
    ],
)
def test_errors_name_the_key(override: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")
                       .replace("[", r"\[")):
        load_config(None, [override])


def test_skull_stripping_is_2d_only() -> None:
    with pytest.raises(InputError, match="strip_fraction applies to 2-D"):
        load_config(None, ["data.strip_fraction=0.5", "data.patch_depth=8"])


def test_base_inheritance_and_roundtrip(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text(yaml.safe_dump(
        {"model": {"name": "srcnn"}, "loss": {"variant": "NP", "alpha": 0.5}}))
    (tmp_path / "child.yml").write_text(yaml.safe_dump(
        {"base": "base.yml", "loss": {"alpha": 0.25}}))
    cfg = load_config(tmp_path / "child.yml", ["loss.beta=0.125"])
    assert (cfg.model.name, cfg.loss.variant, cfg.loss.alpha, cfg.loss.beta) == (
        "srcnn", "NP", 0.25, 0.125)
    save_config(cfg, tmp_path / "saved.yml")
    again = load_config(tmp_path / "saved.yml")
    assert config_to_dict(again) == config_to_dict(cfg)


def test_missing_and_bad_files(tmp_path: Path) -> None:
    """The reader's errors (dnsp.yamlio, tested in tests/test_yamlio.py) reach load_config."""
    (tmp_path / "bad.yml").write_text("model: [unclosed\n")
    (tmp_path / "loop.yml").write_text("base: loop.yml\n")
    cases = {"nope.yml": "not found", "bad.yml": "not valid YAML", "loop.yml": "loops back"}
    for name, match in cases.items():
        with pytest.raises(InputError, match=match):
            load_config(tmp_path / name)


SHIPPED = sorted((REPO / "configs" / "train").rglob("*.yml"))
SHIPPED_TUNE = sorted((REPO / "configs" / "tune").rglob("*.yml"))


def test_configs_are_shipped() -> None:
    names = {p.name for p in SHIPPED}
    for variant in ("np", "lr", "fs", "ls", "ap", "tvlr"):
        assert f"edsr_{variant}_ixi_x2.yml" in names
    assert "edsr_ap_ixi_x2_paper.yml" in names and SHIPPED_TUNE


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_configs_validate(path: Path) -> None:
    cfg = load_config(path)
    assert isinstance(cfg, TrainConfig)
    assert cfg.optim.lr > 0 and cfg.loss.variant in ("NP", "LR", "FS", "LS", "AP", "TVLR")


def test_paper_literal_config_keeps_the_papers_values() -> None:
    cfg = load_config(REPO / "configs" / "train" / "edsr_ap_ixi_x2_paper.yml")
    assert (cfg.loss.reduction, cfg.loss.alpha, cfg.loss.beta, cfg.loss.gamma) == (
        "sum", 1e-5, 5e-3, 1e-7)
    assert (cfg.model.name, cfg.optim.batch_size, cfg.optim.epochs, cfg.optim.lr) == (
        "edsr", 64, 50, 1e-4)


@pytest.mark.parametrize("path", SHIPPED_TUNE, ids=[p.name for p in SHIPPED_TUNE])
def test_shipped_tune_configs_validate(path: Path) -> None:
    from dnsp.train.tune import load_tune_config

    cfg, space = load_tune_config(path)
    assert cfg.loss.variant != "NP" and space.epochs >= 1


def test_data_section_is_the_data_spec_plus_run_time_fields() -> None:
    """DataConfig subclasses SRDataSpec: same fields, defaults and checks, plus run-time keys."""
    import dataclasses

    from dnsp.data.cache import cache_key
    from dnsp.data.spec import SRDataSpec
    from dnsp.train.config import DataConfig
    from dnsp.train.data import data_spec

    assert issubclass(DataConfig, SRDataSpec)
    spec = {f.name: f.default for f in dataclasses.fields(SRDataSpec)}
    cfg = {f.name: f.default for f in dataclasses.fields(DataConfig)}
    assert set(cfg) - set(spec) == {"cache_dir", "max_val_slices", "augment"}
    assert {k: cfg[k] for k in spec} == spec
    data = load_config(None, ["data.min_patch_foreground=null", "data.cache_dir=/tmp/x",
                              "data.augment=true"]).data
    assert data.min_patch_foreground == 0.1  # null = the data layer's default
    assert type(data_spec(data)) is SRDataSpec
    assert cache_key(data_spec(data)) == cache_key(SRDataSpec())  # run-time fields: not in key


@pytest.mark.parametrize(("override", "message"), [
    ("data.source=nope", "data.source must be one of bids, brainweb, embedded, folder, ixi"),
    ("data.source=folder", "data.source 'folder' needs a root folder"),
    ("data.scale=1", "data.scale must be an integer >= 2, got 1"),
    ("data.val_fraction=0", "data.val_fraction must be in (0, 1) (training needs"),
    ("data.max_val_slices=0", "data.max_val_slices must be >= 1 or null"),
    ("data.patch_depth=0", "data.patch_depth must be >= 1 or null"),
    ("data.split=dev", "data.split must be 'train', 'val' or 'test'"),
])
def test_data_section_errors_name_the_key(override: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        load_config(None, [override])


def test_old_configs_with_null_foreground_and_ixi_root_keep_loading(tmp_path: Path) -> None:
    from dnsp.data.sources import default_ixi_root
    from dnsp.train.data import data_spec

    (tmp_path / "old.yml").write_text(
        "data: {source: ixi, root: null, min_patch_foreground: null, patch_depth: null,"
        " max_val_slices: 4, cache_dir: null, augment: false, strip_fraction: 0.0}\n")
    cfg = load_config(tmp_path / "old.yml")
    assert data_spec(cfg.data).root == str(default_ixi_root())
    assert cfg.data.max_val_slices == 4
