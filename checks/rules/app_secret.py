"""APP-004: a client secret the app can sign in with (on its registration or its service principal in tenant B) is
valid now and not about to expire, and the profile is not left holding an expired one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ..model import CheckResult, Outcome, Severity, failed, passed, skipped, warned
from ..registry import check
from ..settings import Thresholds
from . import app_subject, day, names, parse_time
from .fixes import rotate_secret
from .sources import GRAPH_CREDENTIAL_DOC, GRAPH_SERVICE_PRINCIPAL, LEARN_CROSS_TENANT, PROFILE_FORM_ISSUE


class _Secret(NamedTuple):
    key_id: str
    name: str
    hint: str
    start: datetime | None
    end: datetime | None
    raw: Mapping[str, Any]
    on_principal: bool = False  # held by the service principal in tenant B rather than the app registration

    @property
    def label(self) -> str:
        named = f"'{self.name}'" if self.name else f"key {self.key_id}"
        named = f"{named} (hint {self.hint})" if self.hint else named
        return f"{named} on the service principal in tenant B" if self.on_principal else named

    def valid_at(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)

    def evidence(self) -> dict[str, Any]:
        seen = {"keyId": self.key_id, "displayName": self.name or None, "hint": self.hint or None,
                "start": self.raw.get("startDateTime"), "end": self.raw.get("endDateTime")}
        return {**seen, "on": "service principal"} if self.on_principal else seen


def _secret(raw: Mapping[str, Any], on_principal: bool = False) -> _Secret:
    return _Secret(str(raw.get("keyId") or ""), str(raw.get("displayName") or ""), str(raw.get("hint") or ""),
                   parse_time(raw.get("startDateTime")), parse_time(raw.get("endDateTime")), raw, on_principal)


def secrets_of(app: Mapping[str, Any], principal: Mapping[str, Any] | None) -> list[_Secret]:
    """The client secrets the app can sign in with: its registration's, and its service principal's in tenant B
    (a password credential can sit on either)."""
    return ([_secret(raw) for raw in app.get("passwordCredentials") or []]
            + [_secret(raw, True) for raw in (principal or {}).get("passwordCredentials") or []])


def _days(later: datetime, earlier: datetime) -> int:
    return round((later - earlier).total_seconds() / 86400)


@check("APP-004", "A client secret of the app is valid now and not about to expire", Severity.HIGH, link="app",
       remedy=rotate_secret,
       references=(GRAPH_CREDENTIAL_DOC, GRAPH_SERVICE_PRINCIPAL, LEARN_CROSS_TENANT, PROFILE_FORM_ISSUE),
       depends_on=("APP-001",))
def client_secret_is_valid(application: Mapping[str, Any], client_service_principal: Mapping[str, Any] | None,
                           client_id: str, thresholds: Thresholds, now: datetime,
                           profile_modified: Mapping[str, Any]) -> CheckResult:
    """The profile authenticates with a client secret; when the last valid one expires, every mailbox on the profile
    stops syncing at once (AADSTS7000222). Rotating takes a new secret and an edit of the profile, so it needs
    warning ahead of time. A secret can sit on the app registration or on its service principal in tenant B; both
    count. A new secret helps only once it is in the profile: if every secret that existed when the profile was
    last saved has expired, the profile very likely still holds an expired one."""
    app = application.get("object")
    if app is None:
        yield skipped(app_subject(client_id), "no app registration to inspect (see APP-001)")
        return
    secrets = secrets_of(app, client_service_principal)
    evidence: dict[str, Any] = {"credentials": [s.evidence() for s in secrets],
                "warning_days": thresholds.secret_expiry_warning_days}
    yield _secret_outcome(client_id, secrets, thresholds.secret_expiry_warning_days, now, evidence)
    stale = _stale_profile_secret(profile_modified, secrets, now)
    if stale is not None:
        yield stale


def _secret_outcome(client_id: str, secrets: list[_Secret], window: int, now: datetime,
                    evidence: dict[str, Any]) -> Outcome:
    subject = app_subject(client_id)
    valid = [s for s in secrets if s.valid_at(now)]
    if not valid:
        return failed(subject, _none_valid(client_id, secrets, now), **evidence)
    latest = max(valid, key=lambda s: s.end or datetime.max.replace(tzinfo=UTC))
    if latest.end is None:
        return passed(subject, f"app {client_id} has {_count(valid)}; {latest.label} never expires", **evidence)
    when = f"{day(latest.end)} (in {_days(latest.end, now)} days)"
    if latest.end - now > timedelta(days=window):
        if len(valid) == 1:
            return passed(subject, f"app {client_id} has 1 valid client secret; the only valid secret, {latest.label}, "
                          f"expires on {when}: sync stops then unless a newer one is added and entered in the "
                          "profile", **evidence)
        return passed(subject, f"app {client_id} has {_count(valid)}; the latest, {latest.label}, expires on {when}: "
                      "sync stops then at the latest (earlier if the profile holds an older one)", **evidence)
    if len(valid) == 1:
        message = f"the only valid secret of app {client_id}, {latest.label}, expires on {when}: sync stops then"
    else:
        message = (f"all {len(valid)} valid secrets of app {client_id} expire within {window} days; the last, "
                   f"{latest.label}, expires on {when}: sync stops then")
    return warned(subject, message, **evidence)


def _count(valid: list[_Secret]) -> str:
    return "1 valid client secret" if len(valid) == 1 else f"{len(valid)} valid client secrets"


def _none_valid(client_id: str, secrets: list[_Secret], now: datetime) -> str:
    if not secrets:
        return f"app {client_id} has no client secret at all, so the profile cannot authenticate"
    expired = [s for s in secrets if s.end is not None and s.end <= now]
    if expired:
        last = max(expired, key=lambda s: s.end or now)
        end = last.end or now
        return (f"app {client_id} has no valid client secret: the last one, {last.label}, expired on {day(end)} "
                f"({_days(now, end)} days ago)")
    first = min(secrets, key=lambda s: s.start or now)
    return (f"app {client_id} has no client secret valid now: {first.label} only becomes valid on "
            f"{day(first.start or now)}")


def _stale_profile_secret(profile_modified: Mapping[str, Any], secrets: list[_Secret],
                          now: datetime) -> Outcome | None:
    """A warning when every secret that existed at the profile's last save has expired since (the profile cannot
    hold a secret created later)."""
    saved = None if profile_modified.get("error") else parse_time(profile_modified.get("modifiedon"))
    if saved is None:
        return None
    existing = [s for s in secrets if s.start is None or s.start <= saved]
    if not existing or not all(s.end is not None and s.end <= now for s in existing):
        return None
    name = profile_modified.get("name") or "the email server profile"
    evidence: dict[str, Any] = {"profile_modifiedon": profile_modified.get("modifiedon"),
                                "secrets_at_last_save": [s.evidence() for s in existing]}
    return warned(f"profile {name}", f"the profile was last saved on {day(saved)}; every secret that existed then has "
                  f"expired ({names([s.label for s in existing])}), so it very likely still holds an expired secret "
                  "(the form hides it after saving; known issue MicrosoftDocs/power-platform#2608)", **evidence)
