"""Shared by the sign-in tests (a plain module: a conftest.py here would shadow the root one)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from checks.http.guard import is_read
from checks.sandbox.scenario import load

SCENARIOS = Path(__file__).parent / "scenarios"
# What an Azure host sets for msal's managed identity detection; a developer's machine must not leak them in.
IDENTITY_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
                      "MSI_ENDPOINT", "MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_FEDERATED_TOKEN_FILE")


def scenario(name: str) -> dict[str, Any]:
    """A sign-in scenario of this folder, loaded (relative times resolved) and ready for `Sandbox(...)`."""
    loaded: dict[str, Any] = load(str(SCENARIOS / f"{name}.json"), dt.datetime.now(dt.UTC).replace(microsecond=0))
    return loaded


def reader(data: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["readers"] if r["ref"] == ref)
    return found


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any managed identity variables, plus `extra`: for one child only."""
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARIABLES}
    env.update(extra)
    return env


def xtcheck(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`xtcheck ARGS` in a child process (its environment is its own: msal reads os.environ there)."""
    return subprocess.run([sys.executable, "-m", "checks.cli", *args], capture_output=True, text=True,
                          env=env or environment(), timeout=timeout, check=False)


def json_report(folder: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((folder / "xtcheck-report.json").read_text(encoding="utf-8"))
    return report


def outputs(folder: Path, *streams: str) -> list[str]:
    """Everything a run showed or wrote: its streams and every report file."""
    return [*streams, *(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file())]


def guard_allows_device_code() -> bool:
    """Whether the read-only guard lets the device authorization POST (/oauth2/v2.0/devicecode) through."""
    login = "https://login.microsoftonline.com"
    return is_read("POST", f"{login}/contoso.com/oauth2/v2.0/devicecode", b"client_id=x&scope=y", login)
