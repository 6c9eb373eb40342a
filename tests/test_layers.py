"""One direction of flow: probe -> evidence -> check -> finding -> reporter. A layer imports only earlier layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "checks"

# layer -> the checks.* modules it must never import
FORBIDDEN = {
    "model": {"http", "probes", "rules", "report", "sandbox", "engine", "audit", "settings", "commands", "cli"},
    "errors": {"http", "probes", "rules", "report", "sandbox", "engine", "audit", "settings", "commands", "cli"},
    "http": {"probes", "rules", "report", "sandbox", "engine", "audit", "commands", "cli"},
    "probes": {"rules", "report", "sandbox", "engine", "audit", "commands", "cli"},
    "rules": {"http", "report", "sandbox", "engine", "audit", "commands", "cli"},
    "engine": {"http", "probes", "rules", "report", "sandbox", "audit", "commands", "cli"},
    "report": {"http", "probes", "rules", "sandbox", "engine", "audit", "commands", "cli"},
    "sandbox": {"http", "probes", "rules", "report", "engine", "audit", "settings", "commands", "model"},
}


def imported_layers(path: Path) -> set[str]:
    """The first component under `checks` of every module this file imports (absolute or relative)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    depth = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("checks."))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("checks."):
                found.add(node.module.split(".")[1])
            elif node.level > depth:  # relative import climbing to the package root
                names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
                found.update(names)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_what_comes_before_them(layer: str) -> None:
    files = [PACKAGE / f"{layer}.py"] if (PACKAGE / f"{layer}.py").exists() else sorted((PACKAGE / layer).rglob("*.py"))
    assert files
    for path in files:
        wrong = imported_layers(path) & FORBIDDEN[layer]
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {sorted(wrong)}"


def test_importing_the_package_does_no_io() -> None:
    import subprocess
    import sys

    code = ("import socket, builtins\n"
            "def refuse(*a, **k): raise AssertionError('I/O on import')\n"
            "socket.socket.connect = refuse\n"
            "import checks.cli, checks.commands, checks.audit, checks.registry\n"
            "checks.registry.load()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
