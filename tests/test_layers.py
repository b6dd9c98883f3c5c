"""The package layers of docs/architecture.md: a module never imports a higher layer."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dnsp"
LAYER = {
    "errors": 0, "fsutil": 0, "ops": 1, "priors": 2, "losses": 2, "nets": 3, "baselines": 3,
    "data": 3, "metrics": 3, "train": 4, "infer": 5, "evaluate": 6, "bids": 6, "cli": 7,
}


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
