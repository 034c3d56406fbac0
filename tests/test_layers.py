"""The import contract: the project's packages form layers, and no import goes up or in a circle.

Layers, top to bottom (docs/authors.md, "How the code is layered"); a module may import its own
layer and the layers below it. Siblings in one layer (``course | autograder``) may not import
each other; a sibling may be several packages (``course.cli, course.__main__``).

The graph is read with ``ast`` from the source (every import, at the top of a module or inside a
function), so the test needs nothing installed and runs in ``make check`` too
(``python -m tests.test_layers``).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    "course.cli, course.__main__",               # the command line: authoring and grading
    "course | autograder",                       # authoring | grading (collect, repair, worker, grade)
    "autograder.checks, autograder.hidden",      # the hidden checks and their in-process entry
    "autograder.sandbox",                        # kernels, the oracle, its wire protocol
    "core",                                      # paths, the chapter format, data, nbgrader's folder
]
PACKAGES = ("core", "course", "autograder")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports (the deepest known module each import names)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            prefix = node.module or ""
            if node.level:
                kept = base[:len(base) - node.level + 1]
                prefix = ".".join(kept + ([node.module] if node.module else []))
            names |= {prefix} | {f"{prefix}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = {module_name(p, root): p for package in PACKAGES for p in (root / package).rglob("*.py")}
    return {module: imported(module, path, set(files)) for module, path in files.items()}


def layer_of(module: str) -> tuple[int, str]:
    """(layer number, the sibling that holds the module): the longest package that matches."""
    best, longest = (-1, ""), ""
    for number, layer in enumerate(LAYERS):
        for sibling in layer.split(" | "):
            for package in sibling.split(", "):
                if (module == package or module.startswith(package + ".")) and len(package) > len(longest):
                    best, longest = (number, sibling), package
    if best[0] < 0:
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
    return best


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        here, entry = layer_of(module)
        for target in sorted(targets):
            there, other = layer_of(target)
            if there < here:
                found.append(f"{module} imports {target}: '{entry}' is below '{other}' "
                             "(an upward import)")
            elif there == here and entry != other:
                found.append(f"{module} imports {target}: '{entry}' and '{other}' are siblings "
                             "that may not import each other")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of modules larger than one (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def problems(root: Path = ROOT) -> list[str]:
    graph = import_graph(root)
    return violations(graph) + [f"import cycle among: {', '.join(c)}" for c in cycles(graph)]


def test_imports_follow_the_layers_without_cycles():
    found = problems()
    assert not found, "the import contract is broken (docs/authors.md):\n  " + "\n  ".join(found)


def test_the_contract_catches_an_upward_import_and_a_cycle():
    """The control: the same checks on a copy of the graph with a bad import added."""
    graph = import_graph()
    graph["core.chapter"] = graph["core.chapter"] | {"course.sync"}   # format -> authoring
    graph["autograder.sandbox.oracle"] = graph["autograder.sandbox.oracle"] | {"autograder.checks.compare"}
    found = violations(graph)
    assert any("core.chapter imports course.sync" in line and "upward" in line for line in found)
    assert any("autograder.sandbox.oracle imports autograder.checks.compare" in line for line in found)
    circle = import_graph()
    circle["course.pages"] = circle["course.pages"] | {"course.book"}   # book imports pages
    assert not cycles(import_graph()) and cycles(circle) == [["course.book", "course.pages"]]
    sideways = import_graph()
    sideways["course.generate"] = sideways["course.generate"] | {"autograder.worker"}
    assert any("siblings" in line for line in violations(sideways))


if __name__ == "__main__":   # make check
    found = problems()
    print("Import contract broken (docs/authors.md, 'How the code is layered'):\n  "
          + "\n  ".join(found) if found else "Imports follow the layers; no cycles.")
    sys.exit(1 if found else 0)
