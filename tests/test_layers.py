"""One direction of flow: probe -> evidence -> check -> finding -> reporter. Every module under checks/ belongs to
one layer, imports only the layers its own may use, and no chain of imports (function-level ones included) comes
back to where it started."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "checks"

# Each layer by the modules in it: a name is a module, or a package and everything below it.
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("checks", "checks.errors", "checks.estate_shard", "checks.exits", "checks.text", "checks.files",
             "checks.memory", "checks.redact", "checks.progress", "checks.workers", "checks.knowledge",
             "checks.knowledge_data", "checks.pemfile", "checks.model", "checks.outside", "checks.terminal",
             "checks.parsing"),
    "config": ("checks.settings", "checks.documents", "checks.schemacheck", "checks.config", "checks.registry",
               "checks.findings", "checks.gate"),
    "http": ("checks.http",),
    "probes": ("checks.probes",),
    "rules": ("checks.rules",),
    "engine": ("checks.evidence", "checks.engine", "checks.facts"),
    "run": ("checks.audit", "checks.waivers", "checks.drift", "checks.snapshot", "checks.doctor", "checks.signing",
            "checks.estate", "checks.merge", "checks.estate_drift"),
    "report": ("checks.report",),
    "commands": ("checks.commands", "checks.estate_commands", "checks.runflags", "checks.helpdesk",
                 "checks.pytest_plugin", "checks.cli", "checks.__main__",
                 "checks.completion", "checks.crash"),
    "sandbox": ("checks.sandbox",),
}
# What each layer may import besides itself. Checks are pure (no HTTP); reporters see findings, never reads; the
# sandbox is a cloud of its own and shares only the exit codes.
MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "config": {"base"},
    "http": {"base", "config"},
    "probes": {"base", "config"},
    "rules": {"base", "config", "probes"},
    "engine": {"base", "config"},
    "run": {"base", "config", "http", "probes", "engine"},
    "report": {"base", "config"},
    "commands": {"base", "config", "http", "probes", "engine", "run", "report", "sandbox"},
    "sandbox": set(),
}
# single modules a layer may import outside MAY_IMPORT: `xtcheck merge` rebuilds an estate as the reports read it
ALSO = {"sandbox": {"checks.exits"}, "run": {"checks.report.estate", "checks.report.estate_json"}}
TYPES_ONLY = {"probes": {"http"}}  # layers a layer may name in `if TYPE_CHECKING:` (probes are handed the Apis)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    """The layer holding `module`: the one whose longest name is the module or a package above it."""
    best: tuple[int, str] | None = None
    for layer, names in LAYERS.items():
        for name in names:
            if (module == name or module.startswith(f"{name}.")) and (best is None or len(name) > best[0]):
                best = (len(name), layer)
    return best[1] if best else None


def imports(module: str) -> Iterator[tuple[str, bool]]:
    """(imported checks module, named only for type checking) for every import in `module`, at any depth."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                   for stmt in block.body for node in ast.walk(stmt)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "checks":
                    yield alias.name, id(node) in typing_only
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            if base.split(".")[0] != "checks":
                continue
            for alias in node.names:  # `from . import fixes` names a module; `from .model import Status` does not
                yield (f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base), id(node) in typing_only


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_belongs_to_a_layer(module: str) -> None:
    assert layer_of(module) is not None, f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_the_layers_its_own_may_use(module: str) -> None:
    mine = layer_of(module)
    assert mine is not None
    allowed = {mine, *MAY_IMPORT[mine]}
    wrong = []
    for target, typing_only in imports(module):
        theirs = layer_of(target)
        if theirs in allowed or target in ALSO.get(mine, set()):
            continue
        if typing_only and theirs in TYPES_ONLY.get(mine, set()):
            continue
        wrong.append(f"{target} ({theirs})")
    assert not wrong, f"{module} ({mine}) imports {', '.join(sorted(set(wrong)))}"


def test_no_chain_of_imports_comes_back_to_where_it_started() -> None:
    graph = {module: sorted({target for target, _ in imports(module) if target in MODULES and target != module})
             for module in MODULES}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in graph[module]:
            if state.get(target) == "open":
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_the_layer_table_names_only_modules_that_exist() -> None:
    names = {name for names in LAYERS.values() for name in names}
    assert all(name in MODULES for name in names), sorted(names - set(MODULES))


def test_importing_the_package_does_no_io() -> None:
    code = ("import socket, builtins\n"
            "def refuse(*a, **k): raise AssertionError('I/O on import')\n"
            "socket.socket.connect = refuse\n"
            "import checks.cli, checks.commands, checks.audit, checks.registry\n"
            "checks.registry.load()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
