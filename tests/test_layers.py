"""The package reads top-down: no module imports one that (directly or not) imports it back.

Every ``import`` counts, also those inside functions (kept lazy so heavy engines load only when
used): a lazy import is still a dependency, and a circle of them makes a layer impossible to
read or test alone. The root package is left out (modules take ``__version__`` from it).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "edgevox"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != "edgevox" and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_circles_in_the_package():
    circles = cycles(import_graph())
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_lower_layers_do_not_reach_up():
    graph = import_graph()
    rules = {  # a module of this prefix never imports one of those
        "edgevox.tools": ("edgevox.llm",),
        "edgevox.audio": ("edgevox.trust", "edgevox.runtime", "edgevox.tts"),
        "edgevox.catalog": ("edgevox.asr", "edgevox.runtime"),
        "edgevox.events": ("edgevox.runtime",),
        "edgevox.runtime": ("edgevox.server", "edgevox.bench", "edgevox.console",
                            "edgevox.cli"),
        "edgevox.trust": ("edgevox.server", "edgevox.bench", "edgevox.console"),
    }
    broken = [f"{module} imports {target}" for module, targets in graph.items()
              for prefix, banned in rules.items() if module.startswith(prefix)
              for target in targets if target.startswith(banned)]
    assert not broken, broken
