"""Waivers: matching by check and subject (exact or glob), expiry, lapse when the evidence changes, the real status
kept in every report, unused waivers reported, and a bad waiver file as one line and exit 2."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from gate_samples import save_demo

import schemas
from checks.cli import main
from checks.errors import ConfigError
from checks.findings import fingerprint
from checks.gate import exit_code
from checks.model import Finding, Severity, Status
from checks.sandbox.server import Sandbox
from checks.waivers import Waiver, apply, load

TODAY = dt.date(2026, 3, 1)
CLIENT = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"  # the demo scenario's sync app
DEMO_FAILS = {"GRA-001": f"app {CLIENT}", "MBX-002": "esther.obi@contoso.com", "MBX-004": "sales@contoso.com"}


def finding(check_id: str, subject: str, status: Status = Status.FAIL, **evidence: object) -> Finding:
    return Finding(check_id, f"title of {check_id}", Severity.HIGH, status, subject, f"{subject} seen", evidence)


def waiver(check: str, subject: str, *, expires: dt.date = TODAY + dt.timedelta(days=30),
           fingerprint: str | None = None, index: int = 0) -> Waiver:
    return Waiver(index, check, subject, "accepted until the migration", "it-ops@contoso.com", expires, fingerprint)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def write_waivers(path: Path, *entries: dict[str, object]) -> Path:
    path.write_text(json.dumps({"waivers": list(entries)}), encoding="utf-8")
    return path


def entry(check: str, subject: str, expires: dt.date | None = None, **extra: object) -> dict[str, object]:
    return {"check": check, "subject": subject, "reason": "accepted until the migration", "owner": "it-ops@contoso.com",
            "expires": (expires or utc_today() + dt.timedelta(days=30)).isoformat(), **extra}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_snapshot(demo_run: Path) -> Path:
    return demo_run / "snapshot.json"


# -- matching -------------------------------------------------------------------------------------------------------

def test_a_waiver_matches_its_check_and_exact_subject_case_insensitively() -> None:
    findings = [finding("MBX-002", "bob@contoso.com"), finding("MBX-002", "carol@contoso.com"),
                finding("MBX-001", "bob@contoso.com")]
    waived, unused = apply(findings, [waiver("MBX-002", "Bob@Contoso.com")], TODAY)
    assert [(f.check_id, f.subject, f.waiver.state if f.waiver else None) for f in waived] == [
        ("MBX-002", "bob@contoso.com", "applied"), ("MBX-002", "carol@contoso.com", None),
        ("MBX-001", "bob@contoso.com", None)]
    assert [f.status for f in waived] == [Status.FAIL] * 3  # the real status stays
    assert unused == ()
    assert exit_code(waived) == 1  # carol and MBX-001 still fail
    assert exit_code(waived[:1]) == 0


def test_a_glob_waives_every_matching_subject() -> None:
    findings = [finding("MBX-004", "bob@contoso.com"), finding("MBX-004", "CAROL@contoso.com"),
                finding("MBX-004", "dave@fabrikam.com")]
    waived, _ = apply(findings, [waiver("MBX-004", "*@contoso.com")], TODAY)
    assert [f.waived for f in waived] == [True, True, False]


def test_a_waiver_expires_after_its_last_day() -> None:
    fail = [finding("APP-004", f"app {CLIENT}")]
    for expires, state, code in ((TODAY - dt.timedelta(days=1), "expired", 1), (TODAY, "applied", 0),
                                 (TODAY + dt.timedelta(days=1), "applied", 0)):
        waived, _ = apply(fail, [waiver("APP-004", f"app {CLIENT}", expires=expires)], TODAY)
        assert waived[0].waiver is not None
        assert (waived[0].waiver.state, exit_code(waived)) == (state, code), expires


def test_a_waiver_bound_to_a_fingerprint_lapses_when_the_evidence_changes() -> None:
    seen = finding("APP-004", f"app {CLIENT}", credentials=[{"keyId": "a1", "end": "2026-03-20T00:00:00Z"}])
    changed = finding("APP-004", f"app {CLIENT}", credentials=[{"keyId": "b2", "end": "2026-03-25T00:00:00Z"}])
    bound = waiver("APP-004", f"app {CLIENT}", fingerprint=fingerprint(seen))
    same, _ = apply([seen], [bound], TODAY)
    lapsed, _ = apply([changed], [bound], TODAY)
    assert same[0].waiver is not None and same[0].waiver.state == "applied"
    assert lapsed[0].waiver is not None and lapsed[0].waiver.state == "lapsed"
    assert (exit_code(same), exit_code(lapsed)) == (0, 1)


def test_the_fingerprint_is_the_sha256_of_the_canonical_evidence() -> None:
    import hashlib

    one = finding("APP-004", "app", b=2, a={"y": 1, "x": [1, 2]})
    other_order = finding("APP-004", "app", a={"x": [1, 2], "y": 1}, b=2)
    assert fingerprint(one) == fingerprint(other_order)
    assert fingerprint(one) == hashlib.sha256(b'{"a":{"x":[1,2],"y":1},"b":2}').hexdigest()


def test_a_waiver_on_a_passing_finding_records_nothing_and_is_reported_unused() -> None:
    waived, unused = apply([finding("MBX-002", "bob@contoso.com", Status.PASS)],
                           [waiver("MBX-002", "bob@contoso.com", index=3)], TODAY)
    assert waived[0].waiver is None
    assert [(u.index, u.check, u.subject) for u in unused] == [(3, "MBX-002", "bob@contoso.com")]


def test_of_several_matching_waivers_the_one_in_force_wins() -> None:
    waived, unused = apply([finding("MBX-002", "bob@contoso.com")],
                           [waiver("MBX-002", "bob@contoso.com", expires=TODAY - dt.timedelta(days=3), index=0),
                            waiver("MBX-002", "*@contoso.com", index=1)], TODAY)
    assert waived[0].waived
    assert unused == ()


# -- the reports ----------------------------------------------------------------------------------------------------

def test_a_waived_fail_keeps_its_real_status_in_console_json_and_junit(
        demo_snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = write_waivers(tmp_path / "waivers.json", entry("MBX-002", "esther.obi@contoso.com", dt.date(2099, 1, 31)))
    code = main(["evaluate", str(demo_snapshot), "--waivers", str(waivers), "--format", "json,junit",
                 "--output-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1  # GRA-001 and MBX-004 still fail
    line = next(i for i, text in enumerate(out.splitlines()) if "MBX-002  esther.obi@contoso.com" in text)
    shown = out.splitlines()[line:line + 2]
    assert shown[0].startswith("  WAIVED MBX-002")
    assert shown[1].strip() == ("waived (real: FAIL): accepted until the migration — it-ops@contoso.com, "
                                "until 2099-01-31")
    assert "\nFAIL — 48 pass, 4 fail, 3 warn, 0 error, 0 skip, 1 waived\n" in out

    report = json.loads((tmp_path / "out" / "xtcheck-report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schemas.load("report"))
    esther = next(f for f in report["findings"] if f["check_id"] == "MBX-002" and f["subject"].startswith("esther"))
    assert esther["status"] == "fail"
    assert esther["waiver"] == {"state": "applied", "reason": "accepted until the migration",
                                "owner": "it-ops@contoso.com", "expires": "2099-01-31"}
    assert len(esther["fingerprint"]) == 64
    assert report["run"]["unused_waivers"] == []

    junit = ElementTree.parse(tmp_path / "out" / "xtcheck-junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("name") == "esther.obi@contoso.com"
                and c.get("classname") == "MBX-002")
    assert case.find("failure") is None
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("waived (real: FAIL): accepted until the migration")


def test_an_expired_waiver_is_shown_on_the_finding_and_gates(
        demo_snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    yesterday = utc_today() - dt.timedelta(days=1)
    waivers = write_waivers(tmp_path / "waivers.json",
                            *(entry(check, subject, yesterday) for check, subject in DEMO_FAILS.items()))
    code = main(["evaluate", str(demo_snapshot), "-q", "--waivers", str(waivers), "--format", "json,junit",
                 "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "WAIVED" not in out
    assert out.count(f"waiver expired on {yesterday.isoformat()}, so this counts again") == 3
    report = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    states = {f["check_id"]: f["waiver"]["state"] for f in report["findings"] if f["waiver"]}
    assert states == dict.fromkeys(DEMO_FAILS, "expired")
    junit = ElementTree.parse(tmp_path / "xtcheck-junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("classname") == "MBX-002"
                and c.get("name") == "esther.obi@contoso.com")
    assert case.find("failure") is not None
    assert "waiver expired on" in (case.findtext("system-out") or "")


def test_a_lapsed_waiver_is_shown_on_the_finding_and_gates(
        demo_snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = write_waivers(tmp_path / "waivers.json",
                            entry("MBX-002", "esther.obi@contoso.com", fingerprint="0" * 64))
    assert main(["evaluate", str(demo_snapshot), "-q", "--waivers", str(waivers), "--only", "MBX-002"]) == 1
    assert "waiver lapsed, so this counts again: the evidence changed" in capsys.readouterr().out


def test_waivers_for_every_fail_let_the_demo_pass_the_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        f"  - {{check: GRA-001, subject: 'app *', reason: Graph roles come with the migration, owner: Ana,"
        f" expires: {utc_today() + dt.timedelta(days=60)}}}\n"
        f"  - {{check: mbx-002, subject: ESTHER.OBI@contoso.com, reason: approval pending, owner: Ana,"
        f" expires: {utc_today()}}}\n"
        f"  - {{check: MBX-004, subject: '*@contoso.com', reason: queue mailbox is being retired, owner: Ana,"
        f" expires: {utc_today() + dt.timedelta(days=1)}}}\n"
        f"  - {{check: MBX-006, subject: sales@contoso.com, reason: queue mailbox is being retired, owner: Ana,"
        f" expires: {utc_today() + dt.timedelta(days=1)}}}\n", encoding="utf-8")
    assert main(["demo", "-q", "--waivers", str(waivers)]) == 0
    out = capsys.readouterr().out
    assert out.count("  WAIVED ") == 4
    assert "waived (real: FAIL): queue mailbox is being retired — Ana" in out
    assert out.rstrip().endswith("WARN — 48 pass, 4 fail, 3 warn, 0 error, 0 skip, 4 waived\n"
                                 "exit 0: nothing fails at any severity; 4 waived")


def test_unused_waivers_are_reported_in_console_and_json(
        demo_snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    waivers = write_waivers(tmp_path / "waivers.json", entry("MBX-002", "esther.obi@contoso.com"),
                            entry("MBX-002", "*@fabrikam.com"), entry("APP-001", f"app {CLIENT}"))
    main(["evaluate", str(demo_snapshot), "--waivers", str(waivers), "--format", "json", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "unused waiver waivers[1]: MBX-002 *@fabrikam.com (it-ops@contoso.com, until " in out
    assert "unused waiver waivers[2]: APP-001" in out  # APP-001 passes: nothing to waive
    assert "waivers[0]" not in out
    report = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    assert [(w["index"], w["check"], w["subject"]) for w in report["run"]["unused_waivers"]] == [
        (1, "MBX-002", "*@fabrikam.com"), (2, "APP-001", f"app {CLIENT}")]


def test_verbose_output_prints_the_fingerprint_the_json_report_carries(
        demo_snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["evaluate", str(demo_snapshot), "-v", "--only", "MBX-002", "--format", "json", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "xtcheck-report.json").read_text(encoding="utf-8"))
    esther = next(f for f in report["findings"] if f["subject"] == "esther.obi@contoso.com")
    assert f"fingerprint: {esther['fingerprint']}" in out
    bound = write_waivers(tmp_path / "waivers.json",
                          entry("MBX-002", "esther.obi@contoso.com", fingerprint=esther["fingerprint"]))
    assert main(["evaluate", str(demo_snapshot), "-q", "--only", "MBX-002", "--waivers", str(bound)]) == 0


# -- the waiver file ------------------------------------------------------------------------------------------------

def test_a_waiver_without_a_reason_is_one_line_and_exit_2(sandbox: Sandbox, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    reasonless = entry("MBX-002", "*@contoso.com")
    del reasonless["reason"]
    waivers = write_waivers(tmp_path / "waivers.json", entry("MBX-001", "*"), reasonless)
    assert main(["audit", "--config", str(sandbox.write_config(tmp_path / "xtcheck.yaml")),
                 "--waivers", str(waivers)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"xtcheck: waiver file {waivers}: waivers[1]: missing required key 'reason'\n"


@pytest.mark.parametrize(("change", "message"), [
    ({"reason": "  "}, "waivers[0].reason: '  ' must not be empty: say why this finding is accepted"),
    ({"owner": ""}, "waivers[0].owner: '' must not be empty"),
    ({"expires": "31/01/2027"}, "waivers[0].expires: '31/01/2027' is not a date like 2027-01-31"),
    ({"expires": "2027-02-30"}, "waivers[0].expires: '2027-02-30' is not a date on the calendar"),
    ({"check": "APP4"}, "waivers[0].check: 'APP4' is not a check id like APP-004"),
    ({"fingerprint": "abc"}, "waivers[0].fingerprint: 'abc' is not a SHA-256 digest"),
    ({"reviewer": "x"}, "waivers[0]: unknown key 'reviewer'"),
])
def test_each_mistake_in_a_waiver_names_its_index_and_key(tmp_path: Path, change: dict[str, object],
                                                            message: str) -> None:
    path = write_waivers(tmp_path / "waivers.json", {**entry("MBX-002", "*@contoso.com"), **change})
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_yaml_and_json_waiver_files_load_the_same(tmp_path: Path) -> None:
    yaml_file = tmp_path / "waivers.yaml"
    yaml_file.write_text("waivers:\n  - check: app-004\n    subject: ' app x '\n    reason: rotation planned\n"
                         "    owner: Ana\n    expires: 2027-01-31\n", encoding="utf-8")
    json_file = write_waivers(tmp_path / "waivers.json", {"check": "APP-004", "subject": "app x",
                                                          "reason": "rotation planned", "owner": "Ana",
                                                          "expires": "2027-01-31"})
    assert load(yaml_file) == load(json_file) == [
        Waiver(0, "APP-004", "app x", "rotation planned", "Ana", dt.date(2027, 1, 31))]


def test_a_file_without_a_waivers_list_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("- check: APP-004\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold `waivers:` and a list of waivers"):
        load(path)
    path.write_text("waivers: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"is not valid YAML \(line"):
        load(path)


def test_a_waiver_naming_a_target_holds_for_that_target_only() -> None:
    named = Waiver(0, "MBX-004", "*@contoso.com", "moving", "crm@contoso.com", TODAY, None,
                   target="contoso.crm4.dynamics.com · Sales")
    fail = finding("MBX-004", "sales@contoso.com")
    waived, unused = apply([fail], [named], TODAY, target="CONTOSO.crm4.dynamics.com · sales")
    assert waived[0].waived and unused == ()
    other, unused = apply([fail], [named], TODAY, target="fabrikam.crm.dynamics.com")
    assert other[0].waiver is None and [w.index for w in unused] == [0]


def test_a_waiver_naming_a_target_glob_holds_for_every_matching_target() -> None:
    glob = Waiver(0, "APP-004", "app *", "rotating", "it-ops@contoso.com", TODAY, None, target="*.crm4.dynamics.com*")
    fail = finding("APP-004", f"app {CLIENT}")
    assert apply([fail], [glob], TODAY, target="contoso.crm4.dynamics.com · Sales")[0][0].waived
    assert apply([fail], [glob], TODAY, target="fabrikam.crm4.dynamics.com")[0][0].waived
    assert apply([fail], [glob], TODAY, target="contoso.crm.dynamics.com")[0][0].waiver is None


def test_a_waiver_naming_a_target_never_holds_in_a_run_of_one_target() -> None:
    named = Waiver(0, "APP-004", f"app {CLIENT}", "rotating", "it-ops@contoso.com", TODAY, None, target="*")
    result, unused = apply([finding("APP-004", f"app {CLIENT}")], [named], TODAY)
    assert result[0].waiver is None and [w.index for w in unused] == [0]


def test_a_waiver_without_a_target_holds_for_every_target() -> None:
    everywhere = waiver("APP-004", f"app {CLIENT}")
    for target in (None, "contoso.crm4.dynamics.com", "fabrikam.crm.dynamics.com · Support"):
        assert apply([finding("APP-004", f"app {CLIENT}")], [everywhere], TODAY, target=target)[0][0].waived


def test_the_target_key_is_read_from_the_file_and_an_empty_one_is_one_line(tmp_path: Path) -> None:
    path = write_waivers(tmp_path / "w.json", entry("APP-004", "app *", target=" contoso.crm4.dynamics.com "))
    assert load(path)[0].target == "contoso.crm4.dynamics.com"
    assert load(write_waivers(tmp_path / "n.json", entry("APP-004", "app *")))[0].target is None
    with pytest.raises(ConfigError, match=r"^waivers\[0\]\.target: .* must not be empty: name the target"):
        load(write_waivers(tmp_path / "e.json", entry("APP-004", "app *", target=" ")))
