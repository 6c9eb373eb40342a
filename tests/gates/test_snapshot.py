"""Evidence snapshots: saved without secrets, sealed, and evaluated offline to exactly the audit's findings."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gate_samples import save_demo

import schemas
from checks import snapshot
from checks.audit import audit
from checks.cli import main
from checks.config import load
from checks.errors import PermissionDenied
from checks.model import Status
from checks.sandbox.scenario import builtin_names
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions, Settings


def secrets_of(cloud: Sandbox, settings: Settings) -> set[str]:
    """Every secret the scenario holds: app passwordCredential values, reader secrets, the app secret, key PEMs."""
    found = {s.value for secrets in cloud.directory.secrets.values() for s in secrets}
    found |= {r["secret"] for r in cloud.scenario.get("readers", []) if "secret" in r}
    found |= {cert.key_pem.decode().splitlines()[1] for cert in cloud.directory.named_certificates.values()}
    public_ids = {s.key_id for secrets in cloud.directory.secrets.values() for s in secrets}
    if settings.app_secret is not None and settings.app_secret.reveal() not in public_ids:
        found.add(settings.app_secret.reveal())  # app-secret-wrong's "secret" is a public key id, seen in evidence
    return found


def reseal(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Change a snapshot and seal it again, as a careful forger would."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    data.pop("sha256")
    data["sha256"] = snapshot.digest(data)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_snapshot(demo_run: Path) -> Path:
    return demo_run / "snapshot.json"


@pytest.mark.parametrize("scenario", builtin_names())
def test_evaluating_a_saved_snapshot_gives_the_audits_findings(scenario: str, tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    with Sandbox(scenario) as cloud:
        settings = load(cloud.write_config(), RunOptions(), {})
        result = audit(settings)
        snapshot.save(result, settings, path)
        secrets = secrets_of(cloud, settings)
    # the sandbox is gone: evaluation has no network to reach, and must not need one
    saved = snapshot.read(path)
    replay, _ = snapshot.evaluate(saved, RunOptions())
    assert [(f.check_id, f.status, f.subject, f.message, f.evidence, f.remediation, f.blocked_by)
            for f in replay.findings] == [
        (f.check_id, f.status, f.subject, f.message, f.evidence, f.remediation, f.blocked_by)
        for f in result.findings]
    assert replay.findings == result.findings
    assert replay.run.completeness == result.run.completeness
    assert replay.run.checks == result.run.checks
    assert {k: type(v) for k, v in replay.failures.items()} == {k: type(v) for k, v in result.failures.items()}
    text = path.read_text(encoding="utf-8")
    assert secrets
    assert [s for s in secrets if s in text] == []


def test_the_snapshot_validates_against_its_schema_and_holds_no_seed(demo_snapshot: Path) -> None:
    data = json.loads(demo_snapshot.read_text(encoding="utf-8"))
    jsonschema.validate(data, schemas.load("evidence"))
    assert data["sha256"] == snapshot.digest({k: v for k, v in data.items() if k != "sha256"})
    assert not {"settings", "thresholds", "now", "apis", "evidence"} & set(data["evidence"])
    assert data["settings"]["app_secret_configured"] is True
    assert {c["kind"] for c in data["settings"]["credentials"]} == {"client_secret"}
    assert data["now"] == data["run"]["started"]


def test_a_snapshot_reformatted_by_another_tool_still_verifies(demo_snapshot: Path, tmp_path: Path) -> None:
    """The file is one line of canonical JSON with its seal last (hashing the text is the whole check); the same
    data laid out otherwise (`jq .`, an editor) is verified on the parsed data instead."""
    text = demo_snapshot.read_text(encoding="utf-8")
    assert text.count("\n") == 1 and text.rstrip("\n").endswith(f'"sha256":"{json.loads(text)["sha256"]}"}}')
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(text), indent=4, ensure_ascii=True), encoding="utf-8")
    assert snapshot.read(pretty) == snapshot.read(demo_snapshot)


def test_the_canonical_pieces_are_the_canonical_text() -> None:
    body = {"b": [{"z": 1, "a": "\u202e"}] * 3, "a": {"rows": [{"x": {2, 1}}], "n": None}, "c": ()}
    joined = "".join(snapshot.canonical_pieces(body))
    row = '{"a":"\\u202e","z":1}'
    assert joined == '{"a":{"n":null,"rows":[{"x":[1,2]}]},"b":[' + ",".join([row] * 3) + '],"c":[]}'
    assert hashlib.sha256(joined.encode()).hexdigest() == snapshot.digest(body)


def test_a_snapshot_changed_after_it_was_written_is_exit_2(demo_snapshot: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(demo_snapshot.read_text(encoding="utf-8"))
    data["evidence"]["organization_settings"]["requireapprovalforuseremail"] = False  # make MBX-002 pass
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data), encoding="utf-8")
    assert main(["evaluate", str(tampered)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"xtcheck: {tampered}: the snapshot was changed after it was written "
                            "(its sha256 does not match)\n")


def test_a_sealed_snapshot_that_breaks_the_schema_is_exit_2(demo_snapshot: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(demo_snapshot.read_bytes())
    reseal(broken, lambda d: d["failures"].update(alerts={"type": "Boom", "message": "", "status": None,
                                                          "code": None}))
    assert main(["evaluate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"xtcheck: {broken} is not a valid evidence snapshot at failures.alerts.type: 'Boom' is "
                          "not one of ProbeError, PermissionDenied")
    assert err.count("\n") == 1


def test_rows_with_the_same_columns_are_written_as_a_table_and_read_back_as_rows(demo_snapshot: Path) -> None:
    stored = json.loads(demo_snapshot.read_text(encoding="utf-8"))["evidence"]["mailboxes"]["rows"]
    assert set(stored) == {"table"} and len(stored["table"]["values"]) == 6
    assert stored["table"]["columns"] == sorted(stored["table"]["columns"])
    rows = snapshot.read(demo_snapshot)["evidence"]["mailboxes"]["rows"]
    assert [dict(zip(stored["table"]["columns"], v, strict=True)) for v in stored["table"]["values"]] == rows
    assert {r["emailaddress"] for r in rows} >= {"alice.moreau@contoso.com", "sales@contoso.com"}


def test_a_version_1_snapshot_with_rows_as_read_gives_the_same_findings(demo_snapshot: Path, tmp_path: Path) -> None:
    old = tmp_path / "v1.json"
    old.write_bytes(demo_snapshot.read_bytes())
    rows = snapshot.read(demo_snapshot)["evidence"]["mailboxes"]["rows"]
    reseal(old, lambda d: (d["evidence"]["mailboxes"].update(rows=rows), d.update(schema_version="1")))
    before, _ = snapshot.evaluate(snapshot.read(demo_snapshot), RunOptions())
    after, _ = snapshot.evaluate(snapshot.read(old), RunOptions())
    assert [(f.check_id, f.subject, f.status, f.message) for f in after.findings] == \
        [(f.check_id, f.subject, f.status, f.message) for f in before.findings]


def test_a_sealed_snapshot_with_a_broken_table_is_exit_2(demo_snapshot: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(demo_snapshot.read_bytes())
    reseal(broken, lambda d: d["evidence"]["mailboxes"]["rows"]["table"]["values"][0].pop())
    assert main(["evaluate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"xtcheck: {broken} is not a valid evidence snapshot: a table of rows is malformed")
    assert err.count("\n") == 1


def test_a_report_is_not_a_snapshot(demo_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = demo_run / "report" / "xtcheck-report.json"
    assert main(["evaluate", str(report)]) == 2
    assert "is not an xtcheck evidence snapshot (it has no sha256)" in capsys.readouterr().err


def test_a_check_whose_evidence_is_not_in_the_snapshot_is_an_error(demo_snapshot: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial.json"
    partial.write_bytes(demo_snapshot.read_bytes())
    reseal(partial, lambda d: d["evidence"].pop("tenant_domains"))
    result, _ = snapshot.evaluate(snapshot.read(partial), RunOptions(only=frozenset({"MBX-005", "MBX-002"})))
    by_check = {f.check_id: f for f in result.findings if f.check_id == "MBX-005"}
    assert by_check["MBX-005"].status is Status.ERROR
    assert 'tenant B\'s verified domains ("tenant_domains") is not in the snapshot' in by_check["MBX-005"].message
    assert {f.status for f in result.findings if f.check_id == "MBX-002"} == {Status.PASS, Status.FAIL}


def test_the_snapshots_clock_decides_time_based_checks(demo_snapshot: Path, tmp_path: Path) -> None:
    later = tmp_path / "later.json"
    later.write_bytes(demo_snapshot.read_bytes())

    def move_clock(data: dict[str, Any]) -> None:
        moment = dt.datetime.fromisoformat(data["now"]) + dt.timedelta(days=13)  # past the demo secret's expiry
        data["now"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    reseal(later, move_clock)
    now, _ = snapshot.evaluate(snapshot.read(demo_snapshot), RunOptions(only=frozenset({"APP-004"})))
    then, _ = snapshot.evaluate(snapshot.read(later), RunOptions(only=frozenset({"APP-004"})))
    assert [f.status for f in now.findings] == [Status.WARN]  # expires in 12 days
    assert Status.FAIL in {f.status for f in then.findings}  # expired a day ago


def test_a_failed_read_is_saved_and_fails_again_offline(start_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    cloud = start_sandbox("healthy")
    cloud.add_fault("status", service="graph", path="/(domains|organization)", status=403, count=None)
    settings = load(cloud.write_config(), RunOptions(), {})
    result = audit(settings)
    assert isinstance(result.failures["tenant_domains"], PermissionDenied)
    snapshot.save(result, settings, tmp_path / "evidence.json")
    saved = snapshot.read(tmp_path / "evidence.json")
    assert saved["failures"]["tenant_domains"]["type"] == "PermissionDenied"
    assert saved["failures"]["tenant_domains"]["status"] == 403
    replay, _ = snapshot.evaluate(saved, RunOptions())
    assert replay.findings == result.findings
    assert {f.status for f in replay.findings if f.check_id == "MBX-005"} == {Status.ERROR}


def test_evaluate_only_runs_the_snapshots_checks_unless_asked(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "app-only.json"
    assert main(["demo", "-q", "--only", "APP", "--save-evidence", str(path)]) == 0
    assert main(["evaluate", str(path), "-q"]) == 0
    assert main(["evaluate", str(path), "-q", "--only", "MBX-002"]) == 3
    out = capsys.readouterr().out
    assert ("ERR  MBX-002  mailboxes — could not read what this check needs: the mailboxes in scope (\"mailboxes\") "
            "is not in the snapshot") in out
