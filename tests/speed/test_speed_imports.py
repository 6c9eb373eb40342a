"""`xtcheck --version` and `--help` stay instant: the CLI imports nothing heavy until a command runs; and an audit
imports, before its first request leaves, only what that request and the config's validation need: no reporter, no
template engine, no JSON Schema library for a valid config, no JWT or crypto library for a client secret."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from checks.sandbox.server import Sandbox

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


# Runs `xtcheck audit` in a child process; Python's audit hook for socket.connect (the runtime's own event, nothing of
# ours replaced) notes which modules were loaded when the first connection to the sandbox was opened.
AT_FIRST_CONNECT = """
import json, sys
seen = []
def note(event, args):
    if event == "socket.connect" and not seen:
        seen.append(sorted(sys.modules))
sys.addaudithook(note)
from checks import cli
code = cli.main(sys.argv[1:])
print("LOADED " + json.dumps({"code": code, "modules": seen[0] if seen else None}))
"""
# Loaded later, if at all: after the reads (reports, waivers applied), or only for a config that is not valid.
NOT_BEFORE_THE_FIRST_REQUEST = ("jsonschema", "jinja2", "markupsafe", "junit_xml", "jwt", "cryptography",
                                "checks.report", "checks.waivers", "checks.snapshot", "checks.drift", "checks.doctor",
                                "checks.sandbox")
GUID = "7d3f2a10-5c1e-4b8a-9f2d-0a1b2c3d4e5f"


def loaded_at_first_request(config: Path, output: Path, *flags: str) -> tuple[int, list[str]]:
    argv = ["audit", "--config", str(config), "--format", "json", "-q", "--output-dir", str(output), *flags]
    result = subprocess.run([sys.executable, "-c", AT_FIRST_CONNECT, *argv], capture_output=True, text=True,
                            check=False, timeout=120)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("LOADED ")), None)
    assert line is not None, result.stderr[-2000:]
    seen = json.loads(line.removeprefix("LOADED "))
    assert seen["modules"] is not None, "the audit never connected"
    return seen["code"], seen["modules"]


def early(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == name or m.startswith(f"{name}.") for name in NOT_BEFORE_THE_FIRST_REQUEST)]


def test_an_audit_loads_only_what_its_first_request_needs(start_sandbox: Callable[..., Sandbox],
                                                          tmp_path: Path) -> None:
    cloud = start_sandbox("healthy")
    code, modules = loaded_at_first_request(cloud.write_config(), tmp_path)
    assert {"msal", "httpx", "yaml", "checks.config", "checks.schemacheck"} <= set(modules)
    assert early(modules) == []
    assert code == 0 and (tmp_path / "xtcheck-report.json").is_file()  # the reporters still ran, afterwards


def test_a_config_that_is_not_valid_is_judged_by_jsonschema_and_nothing_is_requested(tmp_path: Path) -> None:
    """The quick check proves configs valid; any other config goes to jsonschema, which says what is wrong."""
    config = tmp_path / "xtcheck.yaml"
    config.write_text("dynamics: {environment_url: https://contoso.crm4.dynamics.com, tenant_id: nope}\n"
                      "exchange: {tenant_id: contoso.com}\ncredentials: [{tenant_id: " + GUID + ", client_id: "
                      + GUID + ", client_secret: 'env:X'}]\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", AT_FIRST_CONNECT.replace(
        'print("LOADED', 'print("JSONSCHEMA", "jsonschema" in sys.modules)\nprint("LOADED'), "audit", "--config",
        str(config)], capture_output=True, text=True, check=False, timeout=60)
    assert "JSONSCHEMA True" in result.stdout
    assert '"code": 2, "modules": null' in result.stdout  # exit 2 and no connection at all
    assert result.stderr.startswith("xtcheck: config error: dynamics.tenant_id: ")
