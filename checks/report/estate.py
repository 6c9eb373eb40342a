"""What every estate report shows, computed once: each target's findings digested, its overview row (worst status, the
broken link of the chain, the soonest secret expiry, the mailboxes failing), the forecast of the dates things break,
and the estate's gate. The per-format modules only lay this out."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..findings import Digest
from ..gate import decide, moves_exit, verdict
from ..model import (
    LINKS,
    Attestation,
    EstateResult,
    Finding,
    GateDecision,
    Run,
    Severity,
    Status,
    Target,
    Unreadable,
    UnusedWaiver,
)
from .sarif_places import host

# The day EWS in Exchange Online is switched off for good (checks/rules/ews.py EWS_SHUTDOWN; a test keeps them equal:
# reporters do not import the rules).
EWS_SWITCH_OFF = dt.date(2027, 4, 1)
STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS)  # the overview's order, worst first
_FAILING = frozenset({Status.FAIL, Status.ERROR, Status.WARN})


@dataclass(frozen=True)
class TargetReport:
    """One target as the reports read it: its findings digested once for every format, its run with its gate."""

    target: Target
    report: Digest
    run: Run  # `gate` always set: the command's decision, or the default one for a run that came without

    @property
    def gate(self) -> GateDecision:
        return self.run.gate or decide(self.report.full)


@dataclass(frozen=True)
class EstateReport:
    """An estate's run as the reports read it (`EstateResult` with each target digested, or a merge of shards'
    reports rebuilt from their JSON)."""

    targets: list[TargetReport]
    unreadable: list[Unreadable]
    tool_version: str
    started: str
    finished: str
    attestation: Attestation = field(default_factory=lambda: Attestation({}, 0, {}))
    completeness: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None


def target_report(target: Target, report: Digest, run: Run) -> TargetReport:
    """A target with its gate decided: the run's own, or under the default options when the run has none."""
    return TargetReport(target, report, run if run.gate is not None else replace(run, gate=decide(report.full)))


def as_estate_report(estate: EstateResult | EstateReport) -> EstateReport:
    """`estate` with each target's findings digested (sorted once, shared by every format)."""
    if isinstance(estate, EstateReport):
        return estate
    targets = [target_report(item.target, Digest.of(item.findings), item.run) for item in estate.targets]
    return EstateReport(targets, list(estate.unreadable), estate.tool_version, estate.started, estate.finished,
                        estate.attestation, estate.completeness, estate.shard)


def one_target(report: Digest, run: Run) -> EstateReport:
    """A run of one target as an estate of one (the calendar of `xtcheck audit --format calendar`)."""
    name = host(run.environment_url) or run.environment_url or "target"
    target = Target(name, run.environment_url, run.profile, run.exchange_tenant, run.client_id,
                    run.names.get("environment", ""))
    return EstateReport([target_report(target, report, run)], [], run.tool_version, run.started, run.finished,
                        run.attestation, run.completeness)


# -- the overview ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One target's line of the overview."""

    name: str
    environment: str  # its display name, or the environment's host
    environment_url: str
    profile: str
    exchange_tenant: str
    status: Status  # the worst of its findings under the gate's waivers: fail, error, warn or pass
    broken_link: str | None  # the first link of the chain (model.LINKS) with a gating fail or error
    soonest_expiry: dt.date | None  # the soonest end of a client secret valid at the run (APP-004's evidence)
    mailboxes_failing: int  # distinct mailboxes with a fail, error or warn not waived
    exit_code: int
    anchor: str  # the id of its section in the HTML report


def ranked(estate: EstateReport) -> list[tuple[Row, TargetReport]]:
    """Each target with its row, worst first (fail, error, warn, pass), then soonest secret expiry, then name."""
    rows = [(row_of(item, f"target-{n}"), item) for n, item in enumerate(estate.targets, start=1)]
    latest = dt.date.max
    return sorted(rows, key=lambda pair: (STATUS_ORDER.index(pair[0].status), pair[0].soonest_expiry or latest,
                                          pair[0].name.lower(), pair[0].name))


def overview(estate: EstateReport) -> list[Row]:
    """The overview's rows, worst first."""
    return [row for row, _ in ranked(estate)]


def row_of(item: TargetReport, anchor: str = "") -> Row:
    target, run = item.target, item.run
    expiries = [expiry.ends for expiry in secret_expiries(item)]
    return Row(target.name, target.environment or run.names.get("environment") or host(target.environment_url),
               target.environment_url, target.profile or run.profile, target.exchange_tenant or run.exchange_tenant,
               verdict(item.report.full), broken_link(item), min(expiries, default=None),
               mailboxes_failing(item.report.full), item.gate.exit_code, anchor)


def broken_link(item: TargetReport) -> str | None:
    """The first link of the chain, in the order sync runs through it, whose checks have a fail or an error that
    counts toward the exit code: where to start fixing."""
    links = {spec.id: spec.link for spec in item.run.checks}
    gate = item.gate
    broken = {links.get(f.check_id) for f in item.report.full
              if f.status in (Status.FAIL, Status.ERROR) and moves_exit(f, gate)}
    return next((link for link in LINKS if link in broken), None)


def mailboxes_failing(findings: Iterable[Finding]) -> int:
    """Distinct mailboxes (subjects of MBX findings) with a fail, an error or a warn that no waiver took out; a skip
    says a check did not apply, not that the mailbox fails."""
    return len({f.subject.lower() for f in findings if f.area == "MBX" and f.status in _FAILING and not f.waived})


# -- secret expiries and the forecast -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    """A client secret of a target's sync app, valid when the run read it, and the day it ends."""

    app: str  # the sync app's client id
    key_id: str
    label: str  # "'sss-2026' (hint Zr5)", "key 0c1d…"
    ends: dt.date  # in UTC


def secret_expiries(item: TargetReport) -> list[Expiry]:
    """The secrets APP-004 saw valid at the run's start (`credentials`: keyId, displayName, hint, start, end), with
    their end dates. Only a date read from the evidence: a secret that never ends, an end that is no timestamp, or
    a run whose start is unknown gives none."""
    now = moment(item.run.started)
    if now is None:
        return []
    expiries = []
    for finding in item.report.full:
        credentials = finding.evidence.get("credentials") if finding.check_id == "APP-004" else None
        if not isinstance(credentials, list):
            continue
        app = item.run.client_id or finding.subject.removeprefix("app ")
        for credential in credentials:
            expiry = _expiry(app, credential, now)
            if expiry is not None:
                expiries.append(expiry)
    return expiries


def _expiry(app: str, credential: Any, now: dt.datetime) -> Expiry | None:
    if not isinstance(credential, Mapping):
        return None
    start, end = moment(credential.get("start")), moment(credential.get("end"))
    if end is None or end <= now or (start is not None and start > now):
        return None
    key_id, name, hint = (str(credential.get(key) or "") for key in ("keyId", "displayName", "hint"))
    label = f"'{name}'" if name else f"key {key_id}" if key_id else "a secret without id"
    label = f"{label} (hint {hint})" if hint else label
    label = f"{label} on the service principal in tenant B" if credential.get("on") else label
    return Expiry(app, key_id, label, end.date())


def moment(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime; None for anything else (nothing is guessed)."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


@dataclass(frozen=True)
class Event:
    """A day something in the estate breaks, and the targets it breaks."""

    day: dt.date
    kind: str  # "secret" or "ews"
    uid: str  # the same from run to run for the same secret (or kind of event)
    summary: str
    description: str
    targets: tuple[str, ...]  # their names, sorted


def forecast(estate: EstateReport) -> list[Event]:
    """Every day from the run's start on when something breaks, soonest first: each client secret's end, once per
    (app, secret) naming every target whose sync app it is; the day EWS is switched off, naming every target whose
    EWS-001 is not a pass."""
    secrets: dict[tuple[str, str], tuple[Expiry, set[str]]] = {}
    for item in estate.targets:
        for expiry in secret_expiries(item):
            key = (expiry.app.lower(), expiry.key_id or expiry.label)
            held = secrets.get(key)
            earliest = expiry if held is None or expiry.ends < held[0].ends else held[0]
            secrets[key] = (earliest, (held[1] if held else set()) | {item.target.name})
    events = [_secret_event(expiry, sorted(names, key=str.lower)) for expiry, names in secrets.values()]
    not_ready = sorted((item.target.name for item in estate.targets if _ews_not_ready(item.report.full)),
                       key=str.lower)
    if not_ready:
        events.append(_ews_event(not_ready))
    today = moment(estate.started)
    return sorted((e for e in events if today is None or e.day >= today.date()),
                  key=lambda e: (e.day, e.kind != "secret", e.summary))


def _ews_not_ready(findings: Sequence[Finding]) -> bool:
    return any(f.check_id == "EWS-001" and f.status is not Status.PASS for f in findings)


def _uid(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32] + "@xtcheck"


def _secret_event(expiry: Expiry, names: list[str]) -> Event:
    summary = f"Client secret {expiry.label} of app {expiry.app} expires"
    description = (f"The client secret {expiry.label} of the sync app {expiry.app} ends on {expiry.ends.isoformat()}. "
                   f"A target whose email server profile holds it stops syncing then (APP-004); "
                   f"{_count(len(names), 'target uses', 'targets use')} the app: {', '.join(names)}. Add a new "
                   "secret to the app and enter it in each profile before then.")
    return Event(expiry.ends, "secret", _uid("secret", expiry.app.lower(), expiry.key_id or expiry.label), summary,
                 description, tuple(names))


def _ews_event(names: list[str]) -> Event:
    summary = f"EWS switched off in Exchange Online: {_count(len(names), 'target', 'targets')} not ready"
    description = (f"Exchange Web Services in Exchange Online is switched off for good on {EWS_SWITCH_OFF.isoformat()}"
                   "; server-side sync then needs Microsoft Graph. EWS-001 is not a pass for "
                   f"{_count(len(names), 'target', 'targets')}: {', '.join(names)}.")
    return Event(EWS_SWITCH_OFF, "ews", _uid("ews-switch-off"), summary, description, tuple(names))


def _count(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


# -- the estate as a whole ------------------------------------------------------------------------------------------


def estate_gate(estate: EstateResult | EstateReport) -> GateDecision:
    """The estate's exit code, the worst of its targets': 1 if any target's gate says 1, else 3 if any says 3, else
    0; and one sentence saying why. An estate in which no target was audited is never a pass: 3."""
    report = as_estate_report(estate)
    gates = [item.gate for item in report.targets]
    codes = [gate.exit_code for gate in gates]
    first = gates[0] if gates else GateDecision(0, "")
    total, unreadable = len(gates), len(report.unreadable)
    scope = "" if first.min_severity is Severity.INFO else f" at or above {first.min_severity.value}"
    if not gates:
        code, reason = 3, "exit 3: no target was audited"
    elif 1 in codes:
        code, reason = 1, f"exit 1: {codes.count(1):,} of {_count(total, 'target', 'targets')} fail{scope}"
        reason += f"; {codes.count(3):,} could not be decided" if 3 in codes else ""
    elif 3 in codes:
        code, reason = 3, (f"exit 3: xtcheck could not decide {codes.count(3):,} of "
                           f"{_count(total, 'target', 'targets')}{scope}, and none failed")
    else:
        what = "fails" if first.fail_on == "fail" else "fails or warns"
        code, reason = 0, f"exit 0: nothing {what}{scope} in {_count(total, 'target', 'targets')}"
    notes = [f"{_count(unreadable, 'environment', 'environments')} could not be audited" if unreadable else "",
             f"{sum(g.waived for g in gates):,} waived" if any(g.waived for g in gates) else ""]
    reason += "".join(f"; {note}" for note in notes if note)
    return GateDecision(code, reason, first.fail_on, first.min_severity, sum(g.gating for g in gates),
                        sum(g.below_floor for g in gates), sum(g.waived for g in gates))


def estate_verdict(estate: EstateReport) -> Status:
    """The worst status of any target (waivers applied): fail, error, warn or pass."""
    statuses = {verdict(item.report.full) for item in estate.targets}
    return next((status for status in STATUS_ORDER if status in statuses), Status.PASS)


def estate_counts(estate: EstateReport) -> dict[Status, int]:
    """Every target's findings counted by their real status (passes over mailboxes included)."""
    counts = dict.fromkeys(Status, 0)
    for item in estate.targets:
        for status, count in item.report.counts.items():
            counts[status] += count
    return counts


def status_counts(rows: Sequence[Row]) -> dict[Status, int]:
    """How many targets are at each overview status."""
    return {status: sum(1 for row in rows if row.status is status) for status in STATUS_ORDER}


def unused_waivers(estate: EstateReport) -> tuple[UnusedWaiver, ...]:
    """The waivers that matched nothing that is not a pass in any target: each target lists what it did not use
    (waivers naming other targets among them), so an estate's unused ones are those every target lists."""
    if not estate.targets:
        return ()
    common = set.intersection(*({w.index for w in item.run.unused_waivers} for item in estate.targets))
    first = {w.index: w for w in estate.targets[0].run.unused_waivers}
    return tuple(first[index] for index in sorted(common))


def summary_text(estate: EstateReport, rows: Sequence[Row]) -> str:
    """ "20 targets: 3 fail, 1 error, 2 warn, 14 pass; 2 environments could not be audited" """
    counts = status_counts(rows)
    text = f"{_count(len(rows), 'target', 'targets')}: " + ", ".join(
        f"{counts[status]:,} {status.value}" for status in STATUS_ORDER)
    if estate.unreadable:
        text += f"; {_count(len(estate.unreadable), 'environment', 'environments')} could not be audited"
    return text


def shard_text(shard: tuple[int, int] | None) -> str:
    return f"shard {shard[0]} of {shard[1]}" if shard else ""
