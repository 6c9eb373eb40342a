"""The sandbox stands alone: of `checks` it imports only itself and `checks.exits`, and its modules import one
another without cycles (function-level and TYPE_CHECKING imports counted)."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).parents[2] / "checks" / "sandbox"
PACKAGE = "checks.sandbox"
MODULES = {f"{PACKAGE}.{path.stem}": path for path in sorted(SANDBOX.glob("*.py")) if path.stem != "__init__"}


def imported(path: Path) -> set[str]:
    """Every module `path` imports anywhere in it, as absolute names (`from . import x` names the module x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = PACKAGE.split(".")
            if node.level == 0:
                base = node.module or ""
            else:  # relative: climb from checks.sandbox, then descend into the named module
                base = ".".join([*parts[: len(parts) - node.level + 1], *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return found


def test_the_sandbox_imports_nothing_of_checks_but_itself_and_the_exit_codes() -> None:
    assert MODULES
    for name, path in MODULES.items():
        outside = {m for m in imported(path) if m.split(".")[0] == "checks"
                   and m != "checks.exits" and not m.startswith(f"{PACKAGE}.") and m != PACKAGE}
        assert not outside, f"{name} imports {sorted(outside)}"


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # module -> "open" while on the path, "done" after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_sandbox_modules_import_one_another_without_cycles() -> None:
    graph = {name: imported(path) & MODULES.keys() for name, path in MODULES.items()}
    assert cycle(graph) is None, " -> ".join(cycle(graph) or [])
