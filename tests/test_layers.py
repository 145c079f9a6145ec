"""The layers import one way only (grammar <- documents <- engine), with no import cycles.

Everything installs under the one import name ``ssm_local``; no top-level ``grammar``,
``documents`` or ``engine`` package exists, so PyPI packages of those names and an embedding
application's own ``engine`` module cannot clash with ssm-local.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ssm_local"
LAYERS = ("grammar", "documents", "engine")
FORBIDDEN = {"grammar": {"documents", "engine"}, "documents": {"engine"}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, import_time: bool = False) -> set[str]:
    """Absolute names of the ``ssm_local`` modules a file imports (relative imports resolved).

    With ``import_time``, only the imports that run when the file is imported: module level, not
    inside functions or under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in tree.body if import_time else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "ssm_local" or name.startswith("ssm_local.")}


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def test_no_top_level_layer_packages() -> None:
    for name in LAYERS:
        assert not (ROOT / name).exists(), f"{name}/ must live under ssm_local/"


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_go_one_way(layer: str) -> None:
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        layers = {name.split(".")[1] for name in _imports(path) if name.count(".") >= 1}
        bad = layers & FORBIDDEN[layer]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_no_import_cycles() -> None:
    """No cycle among the modules' import-time imports (a module's own package ``__init__`` is
    not counted as an edge back to it, since Python imports parents first anyway)."""
    modules = _modules()
    graph: nx.DiGraph[str] = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in _imports(path, import_time=True):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    cycles = sorted(sorted(cycle) for cycle in nx.simple_cycles(graph))
    assert cycles == []


@pytest.mark.parametrize("layer", LAYERS)
def test_every_module_has_a_docstring(layer: str) -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert missing == []



def test_no_module_over_800_lines() -> None:
    """The house keeps modules under ~800 lines (a little slack before a split is forced)."""
    long = [
        f"{path.relative_to(ROOT)}: {count}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 850
    ]
    assert long == []
