"""The package layers of docs/architecture.md: a module never imports a higher layer.

From the bottom: layer-0 helpers (errors, files, YAML, shared-data paths, devices, the torch
file reader), numerical ops, priors/losses/acquisition models, networks/data/metrics, SR
methods, training, inference, evaluation and the BIDS app, the command line. Besides, the
pairs in :data:`FORBIDDEN` never import each other although their layers would allow it:
inference does not depend on training. No two modules import each other, directly or round a
circle (type-only imports included), and command-line code (argparse, ``main()``) lives in
``dnsp.cli`` only (scripts in ``tools/`` and ``benchmarks/``).
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dnsp"
LAYER = {
    "errors": 0, "fsutil": 0, "yamlio": 0, "paths": 0, "devices": 0, "checkpoint_io": 0,
    "messages": 0,
    "ops": 1, "priors": 2, "losses": 2, "acquisition": 2,
    "nets": 3, "data": 3, "metrics": 3,
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
    assert set(LAYER) <= names, f"LAYER names what the package lacks: {sorted(set(LAYER) - names)}"


def _module_graph() -> dict[str, set[str]]:
    """Module -> the dnsp modules it imports (any import statement, type-only ones too)."""
    mods: dict[str, Path] = {}
    for p in SRC.rglob("*.py"):
        name = ".".join(p.relative_to(SRC.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dnsp"):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    graph[m].add(sub if sub in mods else str(node.module))
            elif isinstance(node, ast.Import):
                graph[m].update(a.name for a in node.names if a.name in mods)
    return {m: {t for t in targets if t in mods} for m, targets in graph.items()}


def test_no_import_circles() -> None:
    graph = _module_graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                circle = [*path[path.index(t):], t]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


@pytest.mark.parametrize("path", [p for p in SRC.rglob("*.py") if _package(p) != "cli"],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_command_line_code_only_in_cli(path: Path) -> None:
    """No argparse, no ``main()`` and no ``print`` outside ``dnsp.cli`` (scripts: tools/,
    benchmarks/; library code logs through :mod:`dnsp.messages`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert "argparse" not in names, f"{path.relative_to(SRC)} imports argparse"
        if isinstance(node, ast.FunctionDef) and node.name == "main" and node.col_offset == 0:
            raise AssertionError(f"{path.relative_to(SRC)} defines main(): move it to dnsp.cli "
                                 "or tools/")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "print"):
            raise AssertionError(f"{path.relative_to(SRC)}:{node.lineno} prints: library code "
                                 "logs (dnsp.messages), the command line shows it")
