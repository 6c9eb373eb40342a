"""Checks on what server-side sync itself reports: the profile's last test, and each mailbox's alerts and sync
status, with the knowledge base's cause and fix attached where the error is a known one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from ..knowledge import Entry
from ..model import CheckResult, Outcome, Remediation, Severity, failed, passed, skipped, warned
from ..probes.dataverse import READ_MAILBOXES, READ_PROFILES, READ_TRACELOGS
from ..registry import check
from ..settings import Thresholds
from . import ago, clean_id, day, known_cause, names, parse_time, remedies, trim
from .mailbox import each_mailbox, not_checked
from .profile import profile_subject

_NO_PROFILE = "no email server profile selected (see PRF-001)"
# (column, what it records); values 0 Failure, 1 Success, 2 Warning (the last only for execution)
_PROFILE_TESTS = (("lasttestexecutionstatus", "the test run"), ("lasttestvalidationstatus", "validation"),
                  ("lastauthorizationstatus", "authorization"))
_TEST_STATUS = ("incomingemailstatus", "outgoingemailstatus", "actstatus")  # 0 Not Run, 1 Success, 2 Failure
_ENABLED = ("enabledforincomingemail", "enabledforoutgoingemail", "enabledforact")
_TELEMETRY_REFERENCES = (remedies.SSS_MONITORING, remedies.TRACELOG_TABLE, remedies.MAILBOX_TABLE)


@check("PRF-005", "The profile's last test and authorization succeeded", Severity.HIGH,
       remedy=remedies.retest_profile, references=(remedies.PROFILE_TABLE, remedies.SSS_MONITORING),
       permissions=(READ_PROFILES,), depends_on=("PRF-001",))
def profile_last_test_succeeded(email_server_profile: Mapping[str, Any]) -> CheckResult:
    """Dynamics records the outcome of the profile's last test and of its last authorization against Exchange. A
    failure there means the profile's own credentials (the app, its secret, tenant B) did not work the last time they
    were tried, whatever the configuration looks like."""
    match, subject = email_server_profile.get("match"), profile_subject(email_server_profile)
    if match is None:
        yield skipped(subject, _NO_PROFILE)
        return
    name, message = match.get("name"), trim(match.get("lastcrmmessage"))
    statuses = {column: match.get(column) for column, _ in _PROFILE_TESTS}
    when = parse_time(match.get("lastteststarttime"))
    evidence: dict[str, Any] = {**statuses, "lastteststarttime": match.get("lastteststarttime"),
                                "lastcrmmessage": message or None}
    tested = f" on {day(when)}" if when else ""
    said = f": {message}" if message else ""
    if all(value is None for value in statuses.values()):
        yield warned(subject, f"profile {name} has never been tested, so nothing shows that its credentials work",
                     **evidence)
        return
    failures = [what for column, what in _PROFILE_TESTS if statuses[column] == 0]
    if failures:
        entry = known_cause(texts=[message])
        evidence["known_cause"] = entry.key if entry else None
        yield failed(subject, f"the last test of profile {name}{tested} failed for {names(failures)}{said}",
                     fix=remedies.known_fix(entry) if entry else None, **evidence)
    elif statuses["lasttestexecutionstatus"] == 2:
        yield warned(subject, f"the last test of profile {name}{tested} ended with a warning{said}", **evidence)
    else:
        succeeded = names([what for column, what in _PROFILE_TESTS if statuses[column] == 1])
        yield passed(subject, f"the last test of profile {name}{tested} succeeded ({succeeded})", **evidence)


class _Alerts(NamedTuple):
    errors: list[Mapping[str, Any]]  # newest first
    warnings: list[Mapping[str, Any]]


_NONE = _Alerts([], [])


def _alerts_by_subject(rows: list[Mapping[str, Any]], since: datetime) -> dict[str, _Alerts]:
    """The error and warning alerts within the lookback, newest first, by the id of the mailbox or profile they are
    about: read once, so 100,000 mailboxes cost one pass over the alerts, not one each."""
    about: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        regarding = clean_id(row.get("_regardingobjectid_value"))
        if regarding and _within(row, since):
            about.setdefault(regarding, []).append(row)
    index = {}
    for regarding, mine in about.items():
        mine.sort(key=lambda r: _alert_time(r) or since, reverse=True)
        index[regarding] = _Alerts([r for r in mine if r.get("level") == 3], [r for r in mine if r.get("level") == 2])
    return index


def _alerts_about(index: Mapping[str, _Alerts], regarding: object) -> _Alerts:
    return index.get(clean_id(regarding), _NONE)  # an empty id is never a key: it matches nothing


def _alert_time(row: Mapping[str, Any]) -> datetime | None:
    return parse_time(row.get("modifiedon") or row.get("createdon"))


def _within(row: Mapping[str, Any], since: datetime) -> bool:
    """Within the lookback (the probe already asks for that window; undated rows are kept)."""
    moment = _alert_time(row)
    return moment is None or moment >= since


def _alert_evidence(alerts: _Alerts) -> dict[str, Any]:
    latest = (alerts.errors or alerts.warnings or [{}])[0]
    return {"error_alerts": len(alerts.errors), "warning_alerts": len(alerts.warnings),
            "latest_alert": trim(latest.get("text")) or None, "latest_alert_on": latest.get("modifiedon")
            or latest.get("createdon"), "latest_alert_code": latest.get("tracecode")}


def _alert_cause(alert: Mapping[str, Any]) -> Entry | None:
    return known_cause(codes=[alert.get("tracecode")],
                       texts=[alert.get("text"), alert.get("errordetails"), alert.get("errortypedisplay")])


@check("MBX-004", "Each mailbox syncs: no recent error alerts and a recent successful sync", Severity.HIGH,
       remedy=remedies.restore_mailbox_sync, references=_TELEMETRY_REFERENCES,
       permissions=(READ_MAILBOXES, READ_PROFILES, READ_TRACELOGS), depends_on=("PRF-001",))
def mailbox_syncs(mailboxes: Mapping[str, Any], alerts: Mapping[str, Any], email_server_profile: Mapping[str, Any],
                  thresholds: Thresholds, now: datetime) -> CheckResult:
    """Configuration can be right and sync still stop: a mailbox removed in tenant B, a policy that leaves it out,
    a secret that changed. Server-side sync records that in each mailbox's status columns and in alerts. Alerts can
    be switched off, so an empty alert list alone proves nothing: this check reads both."""
    since = now - timedelta(days=thresholds.alert_lookback_days)
    index = _alerts_by_subject(list(alerts.get("rows") or []), since)
    judge = partial(_mailbox_sync, index, since, thresholds, now, now - timedelta(hours=thresholds.sync_stale_hours))
    yield from each_mailbox(mailboxes, judge, not_checked)
    profile = email_server_profile.get("match") or {}
    profile_id = profile.get("emailserverprofileid") or (mailboxes.get("profile") or {}).get("id")
    if profile_id:
        own = _alerts_about(index, profile_id)
        if own.errors:
            yield _profile_alerts(profile_subject(email_server_profile), own, thresholds.alert_lookback_days)


def _profile_alerts(subject: str, own: _Alerts, days: int) -> Outcome:
    entry = _alert_cause(own.errors[0])
    evidence = {**_alert_evidence(own), "known_cause": entry.key if entry else None}
    return failed(subject, f"{subject} has {_count(len(own.errors), 'error alert')} in the last {days} days, the "
                  f"latest: {trim(own.errors[0].get('text'), 200)}", fix=_fix(entry), **evidence)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _fix(entry: Entry | None) -> Remediation | None:
    return remedies.known_fix(entry, remedies.SYNC_STEPS) if entry else None


class _Sync(NamedTuple):
    """What one mailbox's telemetry says, in the words the messages use."""

    subject: str
    own: _Alerts
    last: str  # "last synced 12 minutes ago" or "has never synced successfully"
    error: str  # "" or "; its last sync error ... came ..., after its last successful sync: ..."
    stale: bool
    disabled: bool
    never_started: bool  # never synced and never tested: MBX-003's to report
    days: int
    hours: int


def _mailbox_sync(alerts: Mapping[str, _Alerts], since: datetime, thresholds: Thresholds, now: datetime,
                  stale_before: datetime, subject: str, row: Mapping[str, Any], brief: bool = False) -> Outcome | None:
    own = _alerts_about(alerts, row.get("mailboxid")) if alerts else _NONE
    synced = parse_time(row.get("lastsuccessfulsynccompletedon"))
    failing = row.get("lastsyncerrorcode") or row.get("lastsyncerror")
    erred = parse_time(row.get("lastsyncerroroccurredon")) if failing else None  # read only when there is an error
    recent_error = erred is not None and erred >= since and (synced is None or erred > synced)
    stale = synced is None or synced < stale_before
    disabled = all(row.get(c) is False for c in _ENABLED)
    if brief and not (own.errors or own.warnings or recent_error or stale or disabled):
        return None  # the pass of `_judge_quiet`: nothing else in `_judge_sync` and `_judge_quiet` can apply
    evidence: dict[str, Any] = {
        **_alert_evidence(own), "lookback_days": thresholds.alert_lookback_days,
        "lastsuccessfulsynccompletedon": row.get("lastsuccessfulsynccompletedon"),
        "sync_stale_hours": thresholds.sync_stale_hours, "lastsyncerrorcode": row.get("lastsyncerrorcode"),
        "lastsyncerror": trim(row.get("lastsyncerror")) or None,
        "lastsyncerroroccurredon": row.get("lastsyncerroroccurredon"), **{c: row.get(c) for c in _ENABLED}}
    entry = _alert_cause(own.errors[0]) if own.errors else None
    if entry is None and (own.errors or recent_error):
        entry = known_cause(codes=[row.get("lastsyncerrorcode")], texts=[row.get("lastsyncerror")])
    evidence["known_cause"] = entry.key if entry else None
    sync = _Sync(subject, own, f"last synced {ago(synced, now)}" if synced else "has never synced successfully",
                 _sync_error(row, erred, synced, now) if recent_error and erred else "",
                 stale, disabled,
                 synced is None and all(row.get(c) in (0, None) for c in _TEST_STATUS),
                 thresholds.alert_lookback_days, thresholds.sync_stale_hours)
    return _judge_sync(sync, _fix(entry), evidence)


def _judge_sync(sync: _Sync, fix: Remediation | None, evidence: dict[str, Any]) -> Outcome:
    subject, last = sync.subject, sync.last
    if sync.own.errors:
        latest = sync.own.errors[0]
        return failed(subject, f"mailbox {subject} has {_count(len(sync.own.errors), 'error alert')} in the last "
                      f"{sync.days} days and {last}; the latest ({_when(latest)}): {trim(latest.get('text'), 200)}",
                      fix=fix, **evidence)
    if sync.never_started:
        return skipped(subject, f"mailbox {subject} was never tested, so it has not started syncing (see MBX-003)",
                       **evidence)
    if sync.stale and not sync.disabled:
        limit = f", more than the {sync.hours} hours allowed" if last.startswith("last") else ""
        return failed(subject, f"mailbox {subject} {last}{limit}{sync.error}", fix=fix, **evidence)
    return _judge_quiet(sync, fix, evidence)


def _judge_quiet(sync: _Sync, fix: Remediation | None, evidence: dict[str, Any]) -> Outcome:
    """A mailbox without error alerts that synced recently (or is disabled, which MBX-003 reports)."""
    subject, last = sync.subject, sync.last
    if sync.error:
        return warned(subject, f"mailbox {subject} {last}{sync.error}", fix=fix, **evidence)
    if sync.disabled:
        return skipped(subject, f"mailbox {subject} is disabled for email and for appointments, contacts and tasks "
                       f"(see MBX-003), and {last}", **evidence)
    if sync.own.warnings:
        latest = sync.own.warnings[0]
        return warned(subject, f"mailbox {subject} has no error alerts in {sync.days} days and {last}, but "
                      f"{_count(len(sync.own.warnings), 'warning alert')}, the latest ({_when(latest)}): "
                      f"{trim(latest.get('text'), 200)}", **evidence)
    return passed(subject, f"mailbox {subject} syncs: no error alerts in {sync.days} days and {last} (judged from its "
                  "alerts and its sync status columns)", **evidence)


def _when(alert: Mapping[str, Any]) -> str:
    moment = _alert_time(alert)
    return day(moment) if moment else "undated"


def _sync_error(row: Mapping[str, Any], erred: datetime, synced: datetime | None, now: datetime) -> str:
    code, text = row.get("lastsyncerrorcode"), trim(row.get("lastsyncerror"), 160)
    after = ", after its last successful sync" if synced else ""
    return f"; its last sync error{f' {code}' if code else ''} came {ago(erred, now)}{after}" + (
        f": {text}" if text else "")
