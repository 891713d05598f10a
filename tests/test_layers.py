"""The import graph of ``src/landmarket`` follows the layers (docs/architecture.md).

Read with ``ast``, not by importing: every ``import`` and ``from ... import`` counts, at module
level or inside a function, so a deferred import cannot hide an arrow. Layers from the ground
up: ``core`` → ``db`` → the domain packages → the app (top-level modules: ``main``, ``models``,
``middleware``, ``cli``, ``serve``, ...). ``core`` imports only itself, ``db`` only ``core`` and
itself, no package imports a top-level module, and the packages form no cycle, except through
the one sanctioned edge: plots and requirements call ``matching.recompute`` in their write's
transaction (and matching imports their models, never their repositories or services).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "landmarket"
BASE = {"core": {"core"}, "db": {"core", "db"}}
RECOMPUTE = "landmarket.matching.recompute"
SANCTIONED = {("plots", RECOMPUTE), ("requirements", RECOMPUTE)}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, e.g. landmarket.plots.service
    target: str  # imported name, e.g. landmarket.matching.recompute.refresh_plots
    where: str  # path:line

    @property
    def source_package(self) -> str:
        return _package(self.source)

    @property
    def target_package(self) -> str:
        return _package(self.target)


def _package(module: str) -> str:
    """``core``, ``plots``, ...; a top-level module is the app layer, named ``app:<module>``."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    return name if (ROOT / name).is_dir() else f"app:{name}"


def _module(path: Path, root: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path = ROOT) -> list[Edge]:
    """Every import of a ``landmarket`` name by a module under ``root``."""
    edges: list[Edge] = []
    for path in sorted(root.rglob("*.py")):
        module = _module(path, root)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    stem = ".".join([*base, node.module] if node.module else base)
                else:
                    stem = node.module or ""
                # ``from landmarket.matching import recompute`` imports the module itself.
                names = [f"{stem}.{alias.name}" for alias in node.names]
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            edges += [Edge(module, name, where) for name in names if name.startswith("landmarket.")]
    return edges


def _sanctioned(edge: Edge) -> bool:
    return any(
        edge.source_package == src
        and (edge.target == target or edge.target.startswith(target + "."))
        for src, target in SANCTIONED
    )


def layer_violations(edges: list[Edge]) -> list[str]:
    found = []
    for e in edges:
        src, dst = e.source_package, e.target_package
        if src in BASE and dst not in BASE[src]:
            found.append(f"{e.where}: {src} imports {e.target} (a layer above it)")
        elif not src.startswith("app:") and dst.startswith("app:"):
            found.append(f"{e.where}: {src} imports the app module {e.target}")
    return found


def package_cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan), sanctioned edge left
    out."""
    graph: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        if e.source_package != e.target_package and not _sanctioned(e):
            graph[e.source_package].add(e.target_package)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _explain(cycle: list[str], edges: list[Edge]) -> str:
    inside = [
        f"  {e.where}: {e.source} imports {e.target}"
        for e in edges
        if e.source_package in cycle
        and e.target_package in cycle
        and e.source_package != e.target_package
        and not _sanctioned(e)
    ]
    return " <-> ".join(cycle) + "\n" + "\n".join(inside)


def test_the_graph_is_read() -> None:
    # The checks below mean nothing if the reader misses imports: spot-check known ones.
    edges = {(e.source, e.target) for e in imports()}
    assert ("landmarket.plots.service", f"{RECOMPUTE}.refresh_plots") in edges
    assert ("landmarket.main", "landmarket.middleware.install_middleware") in edges
    assert len(edges) > 500


def test_core_and_db_know_no_domain() -> None:
    assert layer_violations(imports()) == []


def test_no_package_cycle_but_the_recompute_edge() -> None:
    edges = imports()
    cycles = package_cycles(edges)
    assert cycles == [], "\n".join(_explain(c, edges) for c in cycles)


def test_matching_imports_only_declarations_of_its_callers() -> None:
    # The sanctioned edge closes no cycle of behaviour only while matching's side of it stays
    # on plots' and requirements' models and schemas: never their repositories or services.
    declarations = tuple(
        f"landmarket.{package}.{module}"
        for package in ("plots", "requirements")
        for module in ("models", "schemas")
    )
    back = [
        f"{e.where}: {e.target}"
        for e in imports()
        if e.source.startswith("landmarket.matching.")
        and e.target_package in {"plots", "requirements"}
        and not e.target.startswith(declarations)
    ]
    assert back == []
