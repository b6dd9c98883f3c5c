"""The package layers of docs/architecture.md: a module never imports a higher layer.

From the bottom: layer-0 helpers (errors, files, YAML, shared-data paths, devices, the torch
file reader), numerical ops, priors/losses/acquisition models, networks/data/metrics, SR
methods, training, inference, evaluation and the BIDS app, the command line. Besides, the
pairs in :data:`FORBIDDEN` never import each other although their layers would allow it:
inference does not depend on training.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dnsp"
LAYER = {
    "errors": 0, "fsutil": 0, "yamlio": 0, "paths": 0, "devices": 0, "checkpoint_io": 0,
    "ops": 1, "priors": 2, "losses": 2, "acquisition": 2,
    "nets": 3, "data": 3, "metrics": 3, "baselines": 3,  # baselines: operators.py until moved
    "methods": 4, "train": 5, "infer": 6, "evaluate": 7, "bids": 7, "cli": 8,
}
#: (importer, imported) package pairs that must stay apart whatever their layers.
FORBIDDEN = {("infer", "train")}


def _package(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dnsp."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("dnsp."):
                    found.add(a.name.split(".")[1])
    return found


FILES = [p for p in SRC.rglob("*.py") if _package(p) in LAYER]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_imports(path: Path) -> None:
    own = LAYER[_package(path)]
    bad = sorted(m for m in _imports(path) if m in LAYER and LAYER[m] > own)
    assert not bad, f"{path.relative_to(SRC)} (layer {own}) imports higher layers {bad}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_forbidden_imports(path: Path) -> None:
    pkg = _package(path)
    bad = sorted(m for m in _imports(path) if (pkg, m) in FORBIDDEN)
    assert not bad, f"{path.relative_to(SRC)} must not import {bad}"


def test_every_package_has_a_layer() -> None:
    """A new top-level module or package must be placed in LAYER (else it goes unchecked)."""
    names = {p.name.removesuffix(".py") for p in SRC.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").is_file())
             and p.name not in ("__init__.py", "__main__.py")}
    assert names <= set(LAYER), f"not in LAYER: {sorted(names - set(LAYER))}"
