"""`xtcheck doctor` against the sandbox: real sign-ins, real token roles, compared with what the checks declare."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checks.cli import main
from checks.doctor import assess
from checks.sandbox.server import Sandbox

StartSandbox = Callable[..., Sandbox]


def variant(tmp_path: Path, name: str, patch: list[dict[str, object]]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "summary": name, "extends": "healthy", "patch": patch}))
    return str(path)


def doctor(cloud: Sandbox, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    code = main(["doctor", "--config", str(cloud.write_config()), *flags])
    return code, capsys.readouterr().out


def test_assess_knows_which_roles_include_others() -> None:
    assert assess(["Directory.Read.All"], ["Application.Read.All", "Domain.Read.All"]) == ([], [])
    assert assess(["Organization.Read.All"], ["Domain.Read.All"]) == ([], [])
    assert assess(["Application.Read.All"], ["Application.Read.All", "Domain.Read.All"]) == (["Domain.Read.All"], [])
    assert assess(["Application.ReadWrite.All", "Mail.Send"], ["Application.Read.All"]) == (
        [], ["Application.ReadWrite.All", "Mail.Send"])


def test_a_well_set_up_reader_passes(start_sandbox: StartSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(start_sandbox(), capsys)
    assert code == 0, out
    assert "carries    Application.Read.All, Domain.Read.All" in out
    assert "MISSING" not in out and "EXCESSIVE" not in out
    assert "signs in to Dataverse as application user" in out


def test_a_missing_role_is_named_with_the_grant_command(start_sandbox: StartSandbox, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox(variant(tmp_path, "no-domains", [
        {"op": "replace", "path": "/readers/0/grants/B", "value": ["Application.Read.All"]}]))
    code, out = doctor(cloud, capsys)
    assert code == 1
    assert "MISSING    Domain.Read.All" in out
    assert "--api-permissions dbb9058a-0e50-45d7-ae91-66909b5d4664=Role" in out
    assert "adminconsent?client_id=4d5e6f70-8192-4a3b-bc4d-5e6f708192a3" in out


def test_a_write_role_is_excessive(start_sandbox: StartSandbox, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox(variant(tmp_path, "writer", [
        {"op": "replace", "path": "/readers/0/grants/B", "value": ["Application.ReadWrite.All", "Domain.Read.All"]}]))
    code, out = doctor(cloud, capsys)
    assert code == 1
    assert "EXCESSIVE  Application.ReadWrite.All" in out
    assert "MISSING" not in out  # ReadWrite includes the read it replaces


def test_a_reader_that_cannot_sign_in_is_exit_3(start_sandbox: StartSandbox, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox()
    config = cloud.write_config()
    for secret_file in cloud.workdir.glob("auditor.secret"):
        secret_file.write_text("not-the-reader-secret", encoding="utf-8")
    code = main(["doctor", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 3
    assert "cannot sign in" in out and "AADSTS7000215" in out
    assert "not-the-reader-secret" not in out


def test_doctor_only_asks_for_what_the_selected_checks_need(start_sandbox: StartSandbox, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox(variant(tmp_path, "no-domains", [
        {"op": "replace", "path": "/readers/0/grants/B", "value": ["Application.Read.All"]}]))
    code, out = doctor(cloud, capsys, "--only", "APP,EXO-001")
    assert code == 0, out


def test_json_for_a_support_ticket_holds_what_the_console_says(start_sandbox: StartSandbox,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cloud = start_sandbox()
    code, out = doctor(cloud, capsys, "--format", "json")
    assert code == 0
    document = json.loads(out)  # stdout is the document alone
    assert document["exit_code"] == 0 and document["tool"]["name"] == "xtcheck"
    readers = {(r["tenant_id"], r["signed_in"]) for r in document["readers"]}
    assert readers and all(signed_in for _, signed_in in readers)
    assert any(r["carries"] == ["Application.Read.All", "Domain.Read.All", "Policy.Read.All", "User.Read.All"]
               for r in document["readers"])
    assert all(reader["secret"] not in out for reader in cloud.scenario["readers"] if "secret" in reader)


def test_doctor_offers_only_the_options_it_honours(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    text = capsys.readouterr().out
    for honoured in ("--config", "--format", "--only", "--skip", "--timeout"):
        assert honoured in text
    for ignored in ("--output-dir", "--fail-on", "--verbose", "--quiet", "--min-severity", "--waivers"):
        assert ignored not in text
