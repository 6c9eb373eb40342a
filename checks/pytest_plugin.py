"""The pytest plugin: `pytest --xtcheck-config FILE` turns each finding of one audit into a test item.

Inactive unless `--xtcheck-config` is given: without it the plugin adds its options and nothing else (no
hooks, no markers, no imports of the audit's modules, no network). With it:

- the config is loaded when pytest configures (a config error is a usage error: exit 4, one line);
- the audit runs once per session, when the `xtcheck` collector is collected, and every finding becomes an
  item `xtcheck::CHECK-ID[subject]`;
- `pass` passes; `fail` fails with the message and the remediation (no Python traceback); `error` (xtcheck
  could not decide) is an error in setup; `skip` is skipped with its reason; `warn` passes with an
  `XtcheckWarning` (a UserWarning), or fails with `--xtcheck-fail-on warn`; a finding under an applied
  waiver (`--xtcheck-waivers FILE`, as `xtcheck audit --waivers`) is skipped with "waived: reason";
- items carry the markers `xtcheck`, `xtcheck_<area>` and `xtcheck_<severity>` and the keywords area and
  severity, so `-m xtcheck_critical`, `-k APP` or `-k "MBX and not low"` select them. The subject is in the
  test id but is not a keyword: `-k APP` must not pick GRA-001's subject "app 9b8c…".

Like the CLI, this is an edge: the process environment is read here (for `env:` secrets) and nowhere else in
the plugin.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import warnings
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr
    from pluggy import Result

    from .errors import ConfigError
    from .model import AuditResult, Finding
    from .settings import Settings
    from .waivers import Waiver

COLLECTOR = "xtcheck"
_SESSION_PLUGIN = "xtcheck-session"


class XtcheckWarning(UserWarning):
    """A `warn` finding (`-W error::checks.pytest_plugin.XtcheckWarning` turns them into failures)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xtcheck", "xtcheck: the cross-tenant sync audit as test items")
    group.addoption("--xtcheck-config", metavar="FILE", default=None,
                    help="run the xtcheck audit described by FILE once and collect one test item per finding")
    group.addoption("--xtcheck-only", metavar="IDS", default=None,
                    help="run only these checks or areas, e.g. APP-004,EXO")
    group.addoption("--xtcheck-skip", metavar="IDS", default=None,
                    help="leave these checks or areas out, e.g. MBX")
    group.addoption("--xtcheck-fail-on", choices=("fail", "warn"), default="fail",
                    help="a warn finding passes with a warning (fail, the default) or fails (warn)")
    group.addoption("--xtcheck-waivers", metavar="FILE", default=None,
                    help="accepted findings with reason, owner and expiry (as `xtcheck audit --waivers`); "
                         "a finding under an applied waiver is skipped")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("xtcheck_config")
    if not path:
        return
    from .errors import ConfigError

    config_path = Path(config.invocation_params.dir, path).resolve()
    try:
        settings = _settings(config, config_path, _environment())
        waivers = _waivers(config)
    except ConfigError as exc:
        raise pytest.UsageError(_usage(exc)) from None
    for line in _markers():
        config.addinivalue_line("markers", line)
    config.pluginmanager.register(XtcheckSession(settings, config_path, waivers), _SESSION_PLUGIN)


def _environment() -> Mapping[str, str]:
    """The process environment, for `env:` secrets: read here and nowhere else in the plugin."""
    return os.environ


def _settings(config: pytest.Config, path: Path, environ: Mapping[str, str]) -> Settings:
    """The config file plus the plugin's flags; unknown ids in --xtcheck-only/--xtcheck-skip fail here, early."""
    from . import registry
    from .config import load
    from .registry import select
    from .settings import RunOptions

    options = RunOptions(fail_on=config.getoption("xtcheck_fail_on"),
                         only=frozenset(_ids(config.getoption("xtcheck_only"))),
                         skip=frozenset(_ids(config.getoption("xtcheck_skip"))))
    settings = load(path, options, environ)
    select(registry.load()[0], options.only, options.skip)
    return settings


def _waivers(config: pytest.Config) -> list[Waiver]:
    path = config.getoption("xtcheck_waivers")
    if not path:
        return []
    from .errors import ConfigError
    from .waivers import load

    try:
        return load(Path(config.invocation_params.dir, path))
    except ConfigError as exc:
        raise ConfigError("", f"waiver file {path}: {exc}") from None


def _ids(text: str | None) -> list[str]:
    return [i.strip().upper() for i in (text or "").split(",") if i.strip()]


def _usage(exc: ConfigError) -> str:
    """One line, as the CLI says it, with the plugin's own flag names."""
    if exc.key in ("--only", "--skip"):
        return f"xtcheck: --xtcheck-{exc.key[2:]}: {exc.problem}"
    return f"xtcheck: config error: {exc}"


def _markers() -> list[str]:
    from . import registry
    from .model import Severity

    catalog, _ = registry.load()
    areas = sorted({spec.area for spec in catalog.values()})
    return [
        "xtcheck: an xtcheck finding (pytest --xtcheck-config)",
        *(f"xtcheck_{area.lower()}: an xtcheck finding of the {area} checks" for area in areas),
        *(f"xtcheck_{severity}: an xtcheck finding of a {severity}-severity check" for severity in Severity),
    ]


class XtcheckSession:
    """Registered only when the plugin is active: adds the `xtcheck` collector and reports the audit's summary."""

    def __init__(self, settings: Settings, config_path: Path, waivers: Sequence[Waiver] = ()) -> None:
        self.settings = settings
        self.config_path = config_path
        self.waivers = waivers
        self.result: AuditResult | None = None

    def audit(self) -> AuditResult:
        """The audit, run at most once per session, with the waivers applied as `xtcheck audit` applies them."""
        if self.result is None:
            from .audit import audit
            from .waivers import apply

            result = audit(self.settings)
            if self.waivers:
                findings, unused = apply(result.findings, self.waivers, dt.datetime.now(dt.UTC).date())
                result = dataclasses.replace(result, findings=findings,
                                             run=dataclasses.replace(result.run, unused_waivers=unused))
            self.result = result
        return self.result

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, Result[Any], None]:
        outcome = yield
        report = outcome.get_result()
        if isinstance(collector, pytest.Session) and report.passed:
            report.result.append(XtcheckCollector.from_parent(collector, name=COLLECTOR, nodeid=COLLECTOR,
                                                              path=self.config_path,
                                                              audit=self))

    def pytest_report_header(self) -> str:
        settings = self.settings
        return (f"xtcheck: {self.config_path} — environment {settings.environment_url}, "
                f"Exchange tenant {settings.exchange_tenant}; read-only")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.result is None:
            return
        from .report.common import unused_waiver_lines
        from .report.console import summary_line

        result = self.result
        attestation = result.run.attestation
        terminalreporter.write_sep("-", "xtcheck audit (all findings)")
        terminalreporter.write_line(summary_line(result.findings))
        for statement in result.run.completeness:
            terminalreporter.write_line(statement)
        for line in unused_waiver_lines(result.run.unused_waivers):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"read-only: {sum(attestation.requests.values())} requests, "
                                    f"{attestation.writes_attempted} writes attempted")


class XtcheckCollector(pytest.Collector):
    """`xtcheck`: runs the audit (once) and yields one item per finding, in the audit's order."""

    def __init__(self, *, audit: XtcheckSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session_audit = audit

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        result = self.session_audit.audit()
        fail_on = self.session_audit.settings.run.fail_on
        seen: dict[str, int] = {}
        for finding in result.findings:
            test_id = f"{finding.check_id}[{_subject(finding.subject)}]"
            seen[test_id] = seen.get(test_id, 0) + 1
            if seen[test_id] > 1:  # two findings of one check on one subject: keep the test ids unique
                test_id = f"{test_id[:-1]} #{seen[test_id]}]"
            yield XtcheckItem.from_parent(self, name=finding.check_id, nodeid=f"{self.nodeid}::{test_id}",
                                          finding=finding, fail_on=fail_on)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str | TerminalRepr:  # type: ignore[override]
        """An xtcheck error while auditing (not a finding) is one line, not a traceback into the plugin."""
        from .errors import XtcheckError

        if isinstance(excinfo.value, XtcheckError):
            return f"xtcheck: {excinfo.value}"
        return super().repr_failure(excinfo)


def _subject(subject: str) -> str:
    """A subject as a test id part: one line, no `::` (the id's separator)."""
    return re.sub(r"\s+", " ", subject).replace("::", ":").strip() or "-"


class XtcheckItem(pytest.Item):
    """One finding; its outcome is the finding's status (see the module's docstring)."""

    def __init__(self, *, finding: Finding, fail_on: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.finding = finding
        self.fail_on = fail_on
        area, severity = finding.area, finding.severity.value
        for name in ("xtcheck", f"xtcheck_{area.lower()}", f"xtcheck_{severity}"):
            self.add_marker(name)
        self.extra_keyword_matches.update({area, severity})
        reason = skip_reason(finding)
        if reason is not None:  # a skip marker: pytest reports it at the config file, not inside this plugin
            self.add_marker(pytest.mark.skip(reason=reason))

    def setup(self) -> None:
        if self.finding.status.value == "error":  # could not decide: an error, as pytest reports a broken setup
            pytest.fail(explain(self.finding, "xtcheck could not decide"), pytrace=False)

    def runtest(self) -> None:
        finding = self.finding
        status = finding.status.value
        if status == "fail":
            pytest.fail(explain(finding), pytrace=False)
        if status == "warn" and self.fail_on == "warn":
            pytest.fail(explain(finding, "warn, failing under --xtcheck-fail-on warn"), pytrace=False)
        if status == "warn":
            text = explain(finding)
            try:
                warnings.warn_explicit(XtcheckWarning(text), XtcheckWarning, filename=COLLECTOR, lineno=0)
            except XtcheckWarning:  # -W error: the warning became an exception; still no traceback
                pytest.fail(text, pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.finding.check_id} {self.finding.subject}"

    def __repr__(self) -> str:
        return f"<XtcheckItem {self.nodeid.rpartition('::')[2]}>"


def skip_reason(finding: Finding) -> str | None:
    """Why the item is skipped: an applied waiver, or the finding's own `skip` (with what blocked it)."""
    if getattr(finding, "waived", False):
        waiver = getattr(finding, "waiver", None)
        return (f"waived: {getattr(waiver, 'reason', '')} ({finding.check_id} is {finding.status.value}; owner "
                f"{getattr(waiver, 'owner', '?')}, until {getattr(waiver, 'expires', '?')})")
    if finding.status.value != "skip":
        return None
    blocked = finding.blocked_by and finding.blocked_by not in finding.message
    return f"{finding.check_id} {finding.subject}: {finding.message}" + (
        f" (blocked by {finding.blocked_by})" if blocked else "")


def explain(finding: Finding, lead: str = "") -> str:
    """The finding's message and its remediation (summary, steps, commands, links), as plain lines."""
    from .report.common import remediation_lines

    lines = [f"{finding.check_id} ({finding.severity.value}) {finding.subject}: "
             f"{f'{lead}: ' if lead else ''}{finding.message}"]
    if finding.blocked_by:
        lines.append(f"blocked by {finding.blocked_by}")
    waiver = getattr(finding, "waiver", None)
    if waiver is not None:  # matched but not applied (an applied one skips the item): expired or lapsed
        lines.append(f"waiver {waiver.state} (owner {waiver.owner}, until {waiver.expires}): {waiver.reason}")
    if finding.remediation is not None:
        first, *rest = remediation_lines(finding.remediation)
        lines.append(f"fix: {first}")
        lines.extend(rest)
    return "\n".join(lines)
