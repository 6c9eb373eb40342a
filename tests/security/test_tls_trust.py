"""TLS: a certificate that `tls.ca_bundle` does not cover is an `error` finding naming the untrusted certificate
(exit 3), never a pass; and nothing can turn verification off: no config key, no flag, no `verify=False` or
CERT_NONE anywhere in the package outside the sandbox (which is the server side)."""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml

import schemas
from checks.cli import main
from checks.http.client import tls_context
from checks.sandbox.pki import make_ca
from checks.sandbox.server import Sandbox

PACKAGE = Path(__file__).resolve().parents[2] / "checks"
# Names a switch that turns verification off would have.
SWITCH = re.compile(r"(?i)verif|insecure|unsafe|skip.?(tls|ssl|cert)|no.?(tls|ssl|check)|trust.?all|disable|allow.?"
                    r"(invalid|self)|ignore.?(cert|ssl|tls)")
# Flags the pattern catches that add a check rather than remove one: --verify-key names the public key that a
# signed report or snapshot must verify against (evaluate and diff refuse one that does not).
ADDS_A_CHECK = {"--verify-key"}


def test_a_certificate_the_ca_bundle_does_not_cover_is_an_error_and_exit_3(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox("healthy") as cloud:
        path = cloud.write_config()
        other = tmp_path / "other-ca.pem"
        other.write_bytes(make_ca("some other CA").cert_pem)
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["tls"]["ca_bundle"] = str(other)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        code = main(["audit", "--config", str(path), "--format", "json", "--output-dir", str(tmp_path)])
        assert cloud.log.entries() == []  # no request got past the handshake
    out = capsys.readouterr().out
    assert code == 3
    findings = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))["findings"]
    assert {f["status"] for f in findings} <= {"error", "skip"}
    errors = [f for f in findings if f["status"] == "error"]
    assert errors and all("TLS certificate is not trusted" in f["message"] and "tls.ca_bundle" in f["message"]
                          for f in errors)
    assert "TLS certificate is not trusted" in out


def test_the_client_context_verifies_certificates_and_host_names(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(make_ca().cert_pem)
    for context in (tls_context(None), tls_context(bundle)):
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def property_names(schema: Any) -> set[str]:
    """Every property name anywhere in a JSON schema."""
    names: set[str] = set()
    if isinstance(schema, dict):
        names.update(schema.get("properties", {}))
        for value in schema.values():
            names |= property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= property_names(value)
    return names


def test_no_config_key_can_turn_verification_off() -> None:
    schema = schemas.load("config")
    names = property_names(schema)
    assert {"tls", "ca_bundle"} <= names
    assert sorted(n for n in names if SWITCH.search(n)) == []
    assert set(schema["properties"]["tls"]["properties"]) == {"ca_bundle"}
    assert schema["properties"]["tls"]["additionalProperties"] is False


@pytest.mark.parametrize("command", ["audit", "demo", "doctor", "evaluate", "diff", "checks", "explain"])
def test_no_flag_can_turn_verification_off(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    flags = re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", capsys.readouterr().out)
    assert flags and [f for f in flags if SWITCH.search(f) and f not in ADDS_A_CHECK] == []


def test_nothing_in_the_package_turns_verification_off() -> None:
    pattern = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context|"
                         r"PYTHONHTTPSVERIFY|ssl\._create_default_https_context")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "sandbox" in path.relative_to(PACKAGE).parts:
            continue  # the sandbox is the server: it presents certificates, it does not verify them
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
    assert (PACKAGE / "http" / "client.py").is_file()  # the scan looked where the clients are built
