"""The forecast: the days from a run on when something in an estate breaks. Each client secret's end date (APP-004's
evidence) with the targets whose sync app holds it, and the day EWS is switched off for the targets not ready for
Microsoft Graph. Every report shows it; `--format calendar` writes it as an iCalendar file."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Finding, Run, Status

# The day EWS in Exchange Online is switched off for good (checks/rules/ews.py EWS_SHUTDOWN; a test keeps them equal:
# reporters do not import the rules).
EWS_SWITCH_OFF = dt.date(2027, 4, 1)


@dataclass(frozen=True)
class Expiry:
    """A client secret of a target's sync app, valid when the run read it, and the day it ends."""

    app: str  # the sync app's client id
    key_id: str
    label: str  # "'sss-2026' (hint Zr5)", "key 0c1d…"
    ends: dt.date  # in UTC


@dataclass(frozen=True)
class Event:
    """A day something in the estate breaks, and the targets it breaks."""

    day: dt.date
    kind: str  # "secret" or "ews"
    uid: str  # the same from run to run for the same secret (or kind of event)
    summary: str
    description: str
    targets: tuple[str, ...]  # their names, sorted


Audited = tuple[str, Sequence[Finding], Run]  # a target's name, its findings and its run


def secret_expiries(findings: Iterable[Finding], run: Run) -> list[Expiry]:
    """The secrets APP-004 saw valid at the run's start (`credentials`: keyId, displayName, hint, start, end), with
    their end dates. Only a date read from the evidence: a secret that never ends, an end that is no timestamp, or
    a run whose start is unknown gives none."""
    now = moment(run.started)
    if now is None:
        return []
    expiries = []
    for finding in findings:
        credentials = finding.evidence.get("credentials") if finding.check_id == "APP-004" else None
        if not isinstance(credentials, list):
            continue
        app = run.client_id or finding.subject.removeprefix("app ")
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


def events(targets: Iterable[Audited], started: str) -> list[Event]:
    """Every day from `started` on when something breaks, soonest first: each client secret's end, once per (app,
    secret) naming every target whose sync app it is; the day EWS is switched off, naming every target whose
    EWS-001 is not a pass."""
    secrets: dict[tuple[str, str], tuple[Expiry, set[str]]] = {}
    not_ready = []
    for name, findings, run in targets:
        for expiry in secret_expiries(findings, run):
            key = (expiry.app.lower(), expiry.key_id or expiry.label)
            held = secrets.get(key)
            earliest = expiry if held is None or expiry.ends < held[0].ends else held[0]
            secrets[key] = (earliest, (held[1] if held else set()) | {name})
        if any(f.check_id == "EWS-001" and f.status is not Status.PASS for f in findings):
            not_ready.append(name)
    found = [_secret_event(expiry, _sorted(names)) for expiry, names in secrets.values()]
    if not_ready:
        found.append(_ews_event(_sorted(not_ready)))
    today = moment(started)
    return sorted((e for e in found if today is None or e.day >= today.date()),
                  key=lambda e: (e.day, e.kind != "secret", e.summary))


def _sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda name: (name.lower(), name))


def _uid(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32] + "@xtcheck"


def _secret_event(expiry: Expiry, names: list[str]) -> Event:
    summary = f"Client secret {expiry.label} of app {expiry.app} expires"
    description = (f"The client secret {expiry.label} of the sync app {expiry.app} ends on {expiry.ends.isoformat()}. "
                   f"A target whose email server profile holds it stops syncing then (APP-004); "
                   f"{plural(len(names), 'target uses', 'targets use')} the app: {', '.join(names)}. Add a new "
                   "secret to the app and enter it in each profile before then.")
    return Event(expiry.ends, "secret", _uid("secret", expiry.app.lower(), expiry.key_id or expiry.label), summary,
                 description, tuple(names))


def _ews_event(names: list[str]) -> Event:
    summary = f"EWS switched off in Exchange Online: {plural(len(names), 'target', 'targets')} not ready"
    description = (f"Exchange Web Services in Exchange Online is switched off for good on {EWS_SWITCH_OFF.isoformat()}"
                   "; server-side sync then needs Microsoft Graph. EWS-001 is not a pass for "
                   f"{plural(len(names), 'target', 'targets')}: {', '.join(names)}.")
    return Event(EWS_SWITCH_OFF, "ews", _uid("ews-switch-off"), summary, description, tuple(names))


def plural(count: int, one: str, many: str) -> str:
    """ "1 target", "2,000 targets" """
    return f"{count:,} {one if count == 1 else many}"
