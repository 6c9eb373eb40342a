"""`xtcheck --version` and `--help` stay instant: the CLI imports nothing heavy until a command runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("httpx", "httpcore", "msal", "jsonschema", "yaml", "cryptography", "jinja2", "jwt", "junit_xml", "requests")


def imported_by(*argv: str) -> set[str]:
    """Top-level module names `python -X importtime -m checks.cli ARGV` imported (it reports every import)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "checks.cli", *argv],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "checks" in names  # the report was read
    return names


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("audit", "--help")])
def test_the_cli_imports_nothing_heavy_before_a_command_runs(argv: tuple[str, ...]) -> None:
    assert imported_by(*argv) & set(HEAVY) == set()


def test_importing_the_package_and_its_cli_module_loads_no_heavy_module() -> None:
    code = ("import sys, checks, checks.cli\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
