"""The pytest plugin as CI runs it: `pytest --xtcheck-config FILE` in a subprocess, the entry point loaded from the
installed distribution, against the demo sandbox; its verdicts must be the audit's own."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from checks.audit import audit
from checks.config import load
from checks.gate import summarize
from checks.model import AuditResult, Finding, Status
from checks.sandbox.server import Sandbox
from checks.settings import RunOptions

pytest_plugins = ["pytester"]

WRONG_SECRET_VARIABLE = "XT_TEST_PLUGIN_WRONG_READER_SECRET"


@dataclass(frozen=True)
class Audited:
    config: Path
    result: AuditResult


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    """One demo sandbox for the module: a secret about to expire, missing Graph roles, mailboxes in trouble."""
    with Sandbox("demo") as cloud:
        yield cloud


@pytest.fixture(scope="module")
def audited(demo: Sandbox) -> Audited:
    config = demo.write_config()
    return Audited(config, audit(load(config, RunOptions(), {})))


@pytest.fixture(scope="module")
def undecided(demo: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Audited:
    """The demo config with tenant B's reader secret taken from an environment variable that holds a wrong one:
    the reads in tenant B fail, so some checks are `error` and the checks behind them `skip`."""
    raw = yaml.safe_load(demo.write_config().read_text(encoding="utf-8"))
    reader = next(c for c in raw["credentials"] if c["tenant_id"] == raw["exchange"]["tenant_id"])
    reader["client_secret"] = f"env:{WRONG_SECRET_VARIABLE}"
    config = tmp_path_factory.mktemp("undecided") / "xtcheck.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    environ = {WRONG_SECRET_VARIABLE: "not-the-reader-secret"}
    return Audited(config, audit(load(config, RunOptions(), environ)))


def run(pytester: pytest.Pytester, *args: str | Path) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers", *args, timeout=120)


def expected_outcomes(findings: list[Finding], fail_on: str = "fail") -> dict[str, int]:
    counts = summarize(findings)
    warn_fails = fail_on == "warn"
    return {
        "passed": counts[Status.PASS] + (0 if warn_fails else counts[Status.WARN]),
        "failed": counts[Status.FAIL] + (counts[Status.WARN] if warn_fails else 0),
        "errors": counts[Status.ERROR],
        "skipped": counts[Status.SKIP],
        "warnings": 0 if warn_fails else counts[Status.WARN],
    }


def collected(pytester: pytest.Pytester, config: Path, *selection: str) -> list[str]:
    result = run(pytester, f"--xtcheck-config={config}", "--collect-only", "-q", *selection)
    return [line for line in result.outlines if line.startswith("xtcheck::")]


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert "pytest_plugin.py" not in text
    assert not [line for line in text.splitlines() if line.startswith(("E   ", ">   "))]


def test_each_finding_is_a_test_item_with_the_audits_verdict_in_the_junit_report_too(pytester: pytest.Pytester,
                                                                                      audited: Audited) -> None:
    counts = summarize(audited.result.findings)
    assert counts[Status.FAIL] and counts[Status.WARN], "the demo scenario exercises fail and warn"
    xml = pytester.path / "junit.xml"
    result = run(pytester, f"--xtcheck-config={audited.config}", "-v", f"--junitxml={xml}")
    result.assert_outcomes(**expected_outcomes(audited.result.findings))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["xtcheck::APP-004[[]app *[]] PASSED*", "xtcheck::GRA-001[[]app *[]] FAILED*",
                                 "*XtcheckWarning: APP-004 (high) app *: the only valid secret*"])
    assert junit_verdicts(xml) == expected_junit(audited.result.findings)


def test_a_failing_item_shows_the_remediation_and_no_python_traceback(pytester: pytest.Pytester,
                                                                       audited: Audited) -> None:
    xml = pytester.path / "junit.xml"
    result = run(pytester, f"--xtcheck-config={audited.config}", f"--junitxml={xml}")
    output = result.stdout.str()
    assert_no_traceback(output)
    failing = [f for f in audited.result.findings if f.status is Status.FAIL]
    assert failing
    report = ElementTree.parse(xml).getroot()
    for finding in failing:
        assert finding.remediation is not None
        expected = [f"{finding.check_id} ({finding.severity.value}) {finding.subject}: {finding.message}",
                    f"fix: {finding.remediation.summary}", *finding.remediation.steps, *finding.remediation.commands]
        failure = report.find(f".//testcase[@name='{finding.check_id}[{finding.subject}]']/failure")
        assert failure is not None
        for text in expected:
            assert text in output
            assert text in (failure.text or "")
        assert_no_traceback(failure.text or "")


def test_errors_and_skips_follow_the_audit_and_env_secrets_come_from_the_environment(
        pytester: pytest.Pytester, undecided: Audited) -> None:
    counts = summarize(undecided.result.findings)
    assert counts[Status.ERROR] and counts[Status.SKIP], "a reader that cannot sign in leaves checks undecided"
    # The pytest run below is a child process: its conftest puts the secret in that process's environment only.
    pytester.makeconftest(f"import os\nos.environ[{WRONG_SECRET_VARIABLE!r}] = 'not-the-reader-secret'\n")
    xml = pytester.path / "junit.xml"
    result = run(pytester, f"--xtcheck-config={undecided.config}", "-rs", f"--junitxml={xml}")
    result.assert_outcomes(**expected_outcomes(undecided.result.findings))
    output = result.stdout.str()
    assert_no_traceback(output)
    assert "ERROR at setup of EXO-001" in output and "xtcheck could not decide" in output
    skipped = next(f for f in undecided.result.findings if f.status is Status.SKIP and f.blocked_by)
    assert f"{skipped.check_id} {skipped.subject}: {skipped.message}" in output
    assert junit_verdicts(xml) == expected_junit(undecided.result.findings)


def test_fail_on_warn_makes_warn_findings_fail(pytester: pytest.Pytester, audited: Audited) -> None:
    result = run(pytester, f"--xtcheck-config={audited.config}", "--xtcheck-fail-on", "warn")
    result.assert_outcomes(**expected_outcomes(audited.result.findings, fail_on="warn"))
    assert "warn, failing under --xtcheck-fail-on warn" in result.stdout.str()


def test_a_waived_finding_is_skipped_and_an_expired_waiver_waives_nothing(pytester: pytest.Pytester,
                                                                          audited: Audited) -> None:
    waived, expired = [f for f in audited.result.findings if f.status is Status.FAIL][:2]
    waivers = pytester.path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [
        {"check": waived.check_id, "subject": waived.subject, "reason": "roles granted in the next change window",
         "owner": "it-messaging@contoso.com", "expires": "2999-12-31"},
        {"check": expired.check_id, "subject": expired.subject, "reason": "accepted for the pilot",
         "owner": "it-messaging@contoso.com", "expires": "2000-01-31"},
        {"check": "MBX-002", "subject": "nobody@contoso.com", "reason": "left the company",
         "owner": "it-messaging@contoso.com", "expires": "2999-12-31"},
    ]}), encoding="utf-8")
    result = run(pytester, f"--xtcheck-config={audited.config}", f"--xtcheck-waivers={waivers}", "-rs")
    outcomes = expected_outcomes(audited.result.findings)
    result.assert_outcomes(**{**outcomes, "failed": outcomes["failed"] - 1, "skipped": outcomes["skipped"] + 1})
    output = result.stdout.str()
    assert f"waived: roles granted in the next change window ({waived.check_id} is fail; owner " in output
    assert "waiver expired (owner it-messaging@contoso.com, until 2000-01-31): accepted for the pilot" in output
    assert "unused waiver waivers[2]: MBX-002 nobody@contoso.com" in output


@pytest.mark.parametrize(("selection", "wanted"), [
    (("-k", "APP"), lambda f: f.area == "APP"),
    (("-m", "xtcheck_critical and not xtcheck_exo"), lambda f: f.severity.value == "critical" and f.area != "EXO"),
    (("--xtcheck-only", "APP,GRA-001", "--xtcheck-skip", "APP-004"),
     lambda f: (f.area == "APP" and f.check_id != "APP-004") or f.check_id == "GRA-001"),
])
def test_areas_severities_and_ids_select_items(pytester: pytest.Pytester, audited: Audited,
                                               selection: tuple[str, ...], wanted: Callable[[Finding], bool]) -> None:
    ids = collected(pytester, audited.config, *selection)
    expected = [f for f in audited.result.findings if wanted(f)]
    assert expected, "the selection must select something to prove anything"
    assert Counter(re.sub(r"\[.*", "", node.removeprefix("xtcheck::")) for node in ids) == \
        Counter(f.check_id for f in expected)


def junit_verdicts(xml: Path) -> dict[tuple[str | None, str | None], str]:
    verdicts = {}
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        children = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        assert len(children) <= 1
        verdicts[case.get("classname"), case.get("name")] = children[0] if children else "passed"
    return verdicts


def expected_junit(findings: list[Finding]) -> dict[tuple[str | None, str | None], str]:
    outcome_of = {Status.PASS: "passed", Status.WARN: "passed", Status.FAIL: "failure", Status.ERROR: "error",
                  Status.SKIP: "skipped"}
    return {("xtcheck", f"{f.check_id}[{f.subject}]"): outcome_of[f.status] for f in findings}


@pytest.mark.parametrize(("change", "message"), [
    ({"credentials": [{"tenant_id": "11111111-1111-1111-1111-111111111111",
                       "client_id": "44444444-4444-4444-4444-444444444444", "client_secret": "a-literal-secret"}]},
     "ERROR: xtcheck: config error: credentials[0].client_secret: holds a literal secret; put the secret in an "
     "environment variable and write env:NAME, or in a file and write file:PATH"),
    ({"exchange": None}, "ERROR: xtcheck: config error: missing required key 'exchange'"),
])
def test_an_invalid_config_is_a_usage_error_in_one_line(pytester: pytest.Pytester, audited: Audited,
                                                        change: Mapping[str, object], message: str) -> None:
    raw = yaml.safe_load(audited.config.read_text(encoding="utf-8"))
    for key, value in change.items():
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    config = pytester.path / "invalid.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = run(pytester, f"--xtcheck-config={config}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert errors == [message]
    assert_no_traceback(result.stdout.str() + result.stderr.str())


def test_an_unknown_check_id_is_a_usage_error(pytester: pytest.Pytester, audited: Audited) -> None:
    result = run(pytester, f"--xtcheck-config={audited.config}", "--xtcheck-only", "APX")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.strip()] == [
        "ERROR: xtcheck: --xtcheck-only: unknown check id APX; `xtcheck checks` lists the catalog"]


def test_an_invalid_waiver_file_is_a_usage_error(pytester: pytest.Pytester, audited: Audited) -> None:
    waivers = pytester.path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{"check": "APP-004", "subject": "*", "reason": "",
                                                    "owner": "me", "expires": "2999-12-31"}]}), encoding="utf-8")
    result = run(pytester, f"--xtcheck-config={audited.config}", f"--xtcheck-waivers={waivers}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: xtcheck: config error: waiver file *waivers.yaml: waivers[[]0[]].reason: *"])


def test_a_missing_config_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--xtcheck-config=absent.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: xtcheck: config error: cannot read the config file *absent.yaml: *"])


def test_without_the_option_the_plugin_collects_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_empty="")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*no tests ran*"])
    assert "xtcheck" not in result.stdout.str().replace("plugins: xtcheck-", "")


def test_without_the_option_the_plugin_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_quiet="""
        import sys

        def test_xtcheck_stays_out_of_the_way(request):
            ours = sorted(m for m in sys.modules if m == "checks" or m.startswith("checks."))
            assert ours == ["checks", "checks.pytest_plugin"], ours
            heavy = [m for m in ("httpx", "msal", "jsonschema", "yaml", "cryptography") if m in sys.modules]
            assert heavy == [], heavy
            assert request.config.pluginmanager.has_plugin("xtcheck")
            assert request.config.pluginmanager.get_plugin("xtcheck-session") is None
            assert not [line for line in request.config.getini("markers") if line.startswith("xtcheck")]
    """)
    result = run(pytester)
    result.assert_outcomes(passed=1)
