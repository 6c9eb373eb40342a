"""The check on what server-side sync itself reports about each mailbox: its alerts and its sync status columns, with
the knowledge base's cause and fix attached where the error is a known one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from ..knowledge import Entry
from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, failed, passed, skipped, warned
from ..registry import check
from ..settings import Thresholds
from . import ago, clean_id, day, each_mailbox, known_cause, not_checked, parse_time, profile_subject, trim
from . import fixes as portal
from .fixes import known_fix
from .sources import MAILBOX_TABLE, SSS_MONITORING, TRACELOG_TABLE

_TEST_STATUS = ("incomingemailstatus", "outgoingemailstatus", "actstatus")  # 0 Not Run, 1 Success, 2 Failure
_ENABLED = ("enabledforincomingemail", "enabledforoutgoingemail", "enabledforact")
SYNC_STEPS = ("Read the mailbox's or profile's Alerts (Common > Alerts) for the full error and its times.",
              "After fixing the cause, run Test & Enable Mailbox and check that Last Successful Sync Completed On "
              "moves forward.")


def restore_mailbox_sync(ids: RunIds, known_cause: str | None = None) -> Remediation:
    """The known cause of the error with the steps to see sync resume; else how to find the cause."""
    return known_fix(known_cause, SYNC_STEPS) or Remediation(
        "Read the mailbox's alerts, fix their cause, then run Test & Enable on it.",
        steps=(portal.mailboxes(ids, "Alerts (under Common) for the errors and their times"),
               "Fix the cause the alert names (the finding names a known cause when xtcheck recognises it); a whole "
               "profile failing at once points at the app's secret or consent.",
               "Run Test & Enable Mailbox and check that Last Successful Sync Completed On moves forward."),
    )


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
       link="mailboxes", remedy=restore_mailbox_sync, references=(SSS_MONITORING, TRACELOG_TABLE, MAILBOX_TABLE),
       depends_on=("PRF-001",))
def mailbox_syncs(mailboxes: Mapping[str, Any], mailbox_subjects: list[str], alerts: Mapping[str, Any],
                  email_server_profile: Mapping[str, Any], thresholds: Thresholds, now: datetime) -> CheckResult:
    """Configuration can be right and sync still stop: a mailbox removed in tenant B, a policy that leaves it out,
    a secret that changed. Server-side sync records that in each mailbox's status columns and in alerts. Alerts can
    be switched off, so an empty alert list alone proves nothing: this check reads both."""
    since = now - timedelta(days=thresholds.alert_lookback_days)
    index = _alerts_by_subject(list(alerts.get("rows") or []), since)
    judge = partial(_mailbox_sync, index, since, thresholds, now, now - timedelta(hours=thresholds.sync_stale_hours))
    yield from each_mailbox(mailboxes, mailbox_subjects, judge, not_checked)
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
                  f"latest: {trim(own.errors[0].get('text'), 200)}", **evidence)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


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
    return _judge_sync(sync, evidence)


def _judge_sync(sync: _Sync, evidence: dict[str, Any]) -> Outcome:
    subject, last = sync.subject, sync.last
    if sync.own.errors:
        latest = sync.own.errors[0]
        return failed(subject, f"mailbox {subject} has {_count(len(sync.own.errors), 'error alert')} in the last "
                      f"{sync.days} days and {last}; the latest ({_when(latest)}): {trim(latest.get('text'), 200)}",
                      **evidence)
    if sync.never_started:
        return skipped(subject, f"mailbox {subject} was never tested, so it has not started syncing (see MBX-003)",
                       **evidence)
    if sync.stale and not sync.disabled:
        limit = f", more than the {sync.hours} hours allowed" if last.startswith("last") else ""
        return failed(subject, f"mailbox {subject} {last}{limit}{sync.error}", **evidence)
    return _judge_quiet(sync, evidence)


def _judge_quiet(sync: _Sync, evidence: dict[str, Any]) -> Outcome:
    """A mailbox without error alerts that synced recently (or is disabled, which MBX-003 reports)."""
    subject, last = sync.subject, sync.last
    if sync.error:
        return warned(subject, f"mailbox {subject} {last}{sync.error}", **evidence)
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
