from pathlib import Path

import pytest

from dnsp.errors import InputError
from dnsp.evaluate.experiments import (
    BUDGETS,
    available_experiments,
    dotted_to_nested,
    load_experiment,
)


def test_every_shipped_experiment_loads_with_all_budgets() -> None:
    names = available_experiments()
    assert {"table1", "table2", "table3", "table4", "table5", "fig15", "demo"} <= set(names)
    for name in names:
        exp = load_experiment(name)
        assert set(exp.budgets) == set(BUDGETS), name
        assert exp.methods and exp.datasets and exp.scales
        for m in exp.methods:
            assert m.kind in ("baseline", "train", "pretrained")


def test_table1_has_the_five_variants() -> None:
    exp = load_experiment("table1")
    variants = [m.train["loss"]["variant"] for m in exp.methods if m.kind == "train"]
    assert sorted(variants) == sorted(["NP", "LR", "FS", "LS", "AP"])


def test_unknown_experiment_lists_valid_names() -> None:
    with pytest.raises(InputError, match=r"valid experiments: .*table1"):
        load_experiment("table9")
    with pytest.raises(InputError, match="budget"):
        load_experiment("table1").budget("huge")


def test_bad_experiment_file(tmp_path: Path) -> None:
    p = tmp_path / "x.yml"
    p.write_text("name: x\nmethods: []\n")
    with pytest.raises(InputError, match="datasets"):
        load_experiment(p)
    p.write_text("datasets: [{name: a, data: {source: embedded}}]\n"
                 "methods: [{name: B, baseline: bicubic}]\nfigures: [fig99]\n")
    with pytest.raises(InputError, match="unknown figures"):
        load_experiment(p)


def test_dotted_to_nested() -> None:
    assert dotted_to_nested({"a.b": 1, "a.c": 2, "d": 3}) == {"a": {"b": 1, "c": 2}, "d": 3}


def test_restrict_methods_and_datasets() -> None:
    from dnsp.evaluate.experiments import restrict

    exp = restrict(load_experiment("table1"), "cpu", "Bicubic,DNSP-AP", "IXI")
    b = exp.budget("cpu")
    assert b.methods == ["Bicubic", "DNSP-AP"] and b.datasets == ["IXI"]
    assert exp.budget("smoke").methods is None
    with pytest.raises(InputError, match=r"valid: .*DNSP-NP"):
        restrict(load_experiment("table1"), "cpu", "EDSR", None)


def test_model_train_overrides_one_network_only(tmp_path: Path) -> None:
    from dnsp.evaluate.reproduce import _train_config

    p = tmp_path / "x.yml"
    p.write_text(
        "name: x\ndatasets: [{name: a, data: {source: embedded}}]\n"
        "train: {optim: {epochs: 50}}\n"
        "methods: [{name: S, train: {model: {name: srcnn}}},"
        " {name: E, train: {model: {name: edsr}}}]\n"
        "budgets: {cpu: {train: {optim.epochs: 5},"
        " model_map: {edsr: edsr-tiny}, model_train: {srcnn: {optim.epochs: 40}}}}\n")
    exp = load_experiment(p)
    budget = exp.budget("cpu")
    data = {"source": "embedded", "scale": 2}
    cfgs = {m.name: _train_config(exp, m, budget, data, tmp_path / m.name, True, {})
            for m in exp.methods}
    assert cfgs["S"].model.name == "srcnn" and cfgs["S"].optim.epochs == 40
    assert cfgs["E"].model.name == "edsr-tiny" and cfgs["E"].optim.epochs == 5
