"""The command line as a user meets it: help, version, `sandbox list` and `sandbox serve` in a real process."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from readme_tables import NAMES, generated, in_readme

from checks import __version__

XTCHECK = [sys.executable, "-m", "checks.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*XTCHECK, *args], capture_output=True, text=True, timeout=60, check=False)


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"xtcheck {__version__}"
    help_text = run("sandbox", "serve", "--help").stdout
    assert "--scenario" in help_text and "--port" in help_text and "example:" in help_text


def test_the_command_leaves_with_everything_written_and_its_exit_code(tmp_path: Path) -> None:
    """The command skips Python's teardown (os._exit): the exit code, the flushed console and the report files
    must all be there anyway, also when stdout is a file rather than a terminal."""
    out = tmp_path / "out.txt"
    with out.open("w", encoding="utf-8") as stdout:
        code = subprocess.run([*XTCHECK, "demo", "--format", "json", "--output-dir", str(tmp_path)], stdout=stdout,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert code.returncode == 1 and code.stderr == f"wrote {tmp_path / 'xtcheck-report.json'}\n"
    text = out.read_text(encoding="utf-8")
    assert text.endswith("FAIL — 48 pass, 4 fail, 3 warn, 0 error, 0 skip\nexit 1: 4 findings fail at any severity\n")
    assert json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))["summary"]["exit_code"] == 1


def test_no_command_prints_help_and_exits_2() -> None:
    result = run()
    assert result.returncode == 2
    assert "COMMAND" in result.stdout


def test_sandbox_list_names_every_scenario_with_its_summary() -> None:
    result = run("sandbox", "list")
    assert result.returncode == 0
    assert result.stdout.startswith("") and "healthy" in result.stdout and "Every link holds" in result.stdout


def test_an_unknown_scenario_is_one_line_and_exit_2() -> None:
    result = run("sandbox", "serve", "--scenario", "nope")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no scenario named 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("sandbox", "serve", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr and "Traceback" not in result.stderr


def test_serve_prints_urls_writes_a_config_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    config_path = tmp_path / "xtcheck.yaml"
    process = subprocess.Popen([*XTCHECK, "sandbox", "serve", "--config-out", str(config_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        config = yaml.safe_load(config_path.read_text())
        assert config["cloud"] == "custom"
        assert config["endpoints"]["login"] in "".join(banner)
        assert config["dynamics"]["environment_url"] in "".join(banner)
        assert config["app"]["secret"].startswith("file:")
        assert all(c["client_secret"].startswith("file:") for c in config["credentials"])
        context = ssl.create_default_context(cafile=config["tls"]["ca_bundle"])
        tenant = config["exchange"]["tenant_id"]
        with httpx.Client(verify=context) as http:
            discovery = http.get(f"{config['endpoints']['login']}/{tenant}/v2.0/.well-known/openid-configuration")
        assert discovery.status_code == 200
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "sandbox stopped" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_readme_tables_and_samples_are_the_commands_output(name: str) -> None:
    assert in_readme(name) == generated(name), (
        f"README's {name} block is stale: run `python tests/readme_tables.py` (it writes what the commands print "
        "into it)")


def test_python_dash_m_checks_is_the_xtcheck_command() -> None:
    result = subprocess.run([sys.executable, "-m", "checks", "--version"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert (result.returncode, result.stdout) == (0, run("--version").stdout)
