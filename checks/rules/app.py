"""Checks on the app registration in its home tenant: it exists, is multitenant, asks for full_access_as_app, has a
valid secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, failed, passed, skipped, warned
from ..probes.entra import EXCHANGE_APP_ID
from ..registry import check
from ..settings import Thresholds
from . import (
    FULL_ACCESS_ROLE_ID,
    app_subject,
    clean_id,
    day,
    full_access_role,
    names,
    parse_time,
    role_names,
    same_id,
)
from .fixes import app_registration, consent_url, rotate_secret
from .sources import (
    ACCOUNT_TYPES,
    GRAPH_APPLICATION,
    GRAPH_CREDENTIAL_DOC,
    GRAPH_REQUIRED_ACCESS,
    LEARN_CROSS_TENANT,
    PROFILE_FORM_ISSUE,
)

MULTITENANT = "AzureADMultipleOrgs"
MULTITENANT_AND_PERSONAL = "AzureADandPersonalMicrosoftAccount"
_NARROW = {"AzureADMyOrg": "single tenant", "PersonalMicrosoftAccount": "for personal Microsoft accounts only"}
_DELEGATED_NAMES = {"3b5f3d61-589b-4a3c-a359-5dd4b5ee5bd5": "EWS.AccessAsUser.All"}
_NO_APP = "no app registration to inspect (see APP-001)"


def register_app(ids: RunIds) -> Remediation:
    return Remediation(
        "Point xtcheck and the email server profile at an app registration that exists, or register one.",
        steps=(f"Check the client id {ids.client_id}: it must be the app's Application (client) ID, not its "
               "Object ID or a secret id.",
               f"If the app was deleted, restore it (App registrations > Deleted applications) or register a new "
               f"multitenant app in tenant {ids.exchange_tenant} and put its client id in the profile.",),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app show --id {ids.client_id} --query \"{{appId:appId,displayName:displayName}}\"",
                  'az ad app create --display-name "Dynamics 365 cross-tenant sync" '
                  "--sign-in-audience AzureADMultipleOrgs"),
    )


@check("APP-001", "The app registration exists in its home tenant", Severity.CRITICAL, link="app",
       remedy=register_app, references=(LEARN_CROSS_TENANT, GRAPH_APPLICATION), depends_on=("EXO-004",))
def app_registration_exists(application: Mapping[str, Any], client_id: str) -> CheckResult:
    """Server-side sync signs in as this app. If no tenant holds its registration, no token is ever issued and
    nothing syncs; the usual cause is a wrong id (the Object ID instead of the client id) or a deleted app."""
    app = application.get("object")
    searched = [str(t) for t in application.get("searched") or []]
    if app is None:
        yield failed(app_subject(client_id), f"no app registration with client id {client_id} exists in the tenants "
                     f"searched ({', '.join(searched) or 'none'})", client_id=client_id, searched=searched)
        return
    yield passed(app_subject(client_id), f"app registration '{app.get('displayName')}' (client id {client_id}) "
                 f"exists in its home tenant {application.get('home_tenant')}",
                 object_id=app.get("id"), display_name=app.get("displayName"),
                 home_tenant=application.get("home_tenant"), publisher_domain=app.get("publisherDomain"),
                 created=app.get("createdDateTime"), searched=searched)


def make_multitenant(ids: RunIds) -> Remediation:
    return Remediation(
        f"Set the app {ids.client_id} to 'Accounts in any organizational directory' (AzureADMultipleOrgs).",
        steps=(app_registration(ids, "Authentication > Supported account types > Accounts in any organizational "
                                     "directory > Save"),),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app update --id {ids.client_id} --sign-in-audience AzureADMultipleOrgs"),
    )


@check("APP-002", "The app accepts accounts in any organizational directory (multitenant)", Severity.HIGH,
       link="app", remedy=make_multitenant, references=(ACCOUNT_TYPES, GRAPH_APPLICATION, LEARN_CROSS_TENANT),
       depends_on=("APP-001",))
def app_is_multitenant(application: Mapping[str, Any], client_id: str) -> CheckResult:
    """The cross-tenant setup calls for a multitenant app: a single-tenant app gets tokens only from its home
    tenant, and every other tenant refuses it (AADSTS700016)."""
    app = application.get("object")
    subject = app_subject(client_id)
    if app is None:
        yield skipped(subject, _NO_APP)
        return
    audience = app.get("signInAudience")
    if audience == MULTITENANT:
        yield passed(subject, f"app {client_id} accepts accounts in any organizational directory (signInAudience "
                     f"{audience})", signInAudience=audience)
    elif audience == MULTITENANT_AND_PERSONAL:
        yield passed(subject, f"app {client_id} has signInAudience {audience}, which works, but broader than "
                     "required: it also admits personal Microsoft accounts", signInAudience=audience)
    else:
        kind = _NARROW.get(str(audience), "not multitenant")
        yield failed(subject, f"app {client_id} is {kind} (signInAudience {audience}): only its home tenant "
                     f"{application.get('home_tenant')} accepts it, and the cross-tenant setup needs any "
                     "organizational directory", signInAudience=audience)


def request_full_access(ids: RunIds) -> Remediation:
    return Remediation(
        f"Request full_access_as_app on Office 365 Exchange Online as an application permission for the app "
        f"{ids.client_id}, then grant admin consent in tenant {ids.exchange_tenant}.",
        steps=(app_registration(ids, "API permissions > Add a permission > APIs my organization uses > Office 365 "
                                     "Exchange Online > Application permissions > full_access_as_app"),
               "Remove Exchange permissions picked by mistake (a delegated EWS.AccessAsUser.All, "
               "Exchange.ManageAsApp) unless something else needs them.",
               f"Grant admin consent as an administrator of tenant {ids.exchange_tenant}: {consent_url(ids)}"),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app permission add --id {ids.client_id} --api {EXCHANGE_APP_ID} "
                  f"--api-permissions {FULL_ACCESS_ROLE_ID}=Role"),
    )


@check("APP-003", "The app requests full_access_as_app on Office 365 Exchange Online as an application permission",
       Severity.HIGH, link="app", remedy=request_full_access, references=(LEARN_CROSS_TENANT, GRAPH_REQUIRED_ACCESS),
       depends_on=("APP-001",))
def full_access_as_app_is_requested(application: Mapping[str, Any], exchange_resource_sp: Mapping[str, Any] | None,
                                    client_id: str) -> CheckResult:
    """Server-side sync signs in as the app itself (client credentials), so Exchange needs the application
    permission full_access_as_app; a delegated permission only acts for a signed-in user. The request is what an
    administrator's consent grants, so it has to name the right role."""
    app = application.get("object")
    subject = app_subject(client_id)
    if app is None:
        yield skipped(subject, _NO_APP)
        return
    rid, note = full_access_role(exchange_resource_sp)
    asked = list(_exchange_access(app))
    evidence: dict[str, Any] = {"requested": [{"id": i, "type": t} for i, t in asked], "role_id": rid}
    if (rid, "Role") in asked and rid == FULL_ACCESS_ROLE_ID:
        yield passed(subject, f"app {client_id} requests full_access_as_app as an application permission on Office "
                     f"365 Exchange Online{note}", **evidence)
    elif (rid, "Role") in asked or (FULL_ACCESS_ROLE_ID, "Role") in asked:
        yield warned(subject, f"app {client_id} requests full_access_as_app, but tenant B's Exchange Online gives "
                     f"that role the id {rid}, not the well-known {FULL_ACCESS_ROLE_ID}; verify which one the app "
                     "asks for", **evidence)
    else:
        what = _describe(asked, role_names(exchange_resource_sp))
        yield failed(subject, f"app {client_id} does not request full_access_as_app as an application permission on "
                     f"Office 365 Exchange Online; it requests {what}{note}", **evidence)


def _exchange_access(app: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(permission id, "Role" | "Scope") for each permission the app requests on Office 365 Exchange Online."""
    for entry in app.get("requiredResourceAccess") or []:
        if same_id(entry.get("resourceAppId"), EXCHANGE_APP_ID):
            for access in entry.get("resourceAccess") or []:
                yield clean_id(access.get("id")), str(access.get("type"))


def _describe(asked: list[tuple[str, str]], roles: Mapping[str, str]) -> str:
    if not asked:
        return "no Office 365 Exchange Online permission at all"
    parts = [f"the application permission {roles.get(i, i)}" for i, t in asked if t == "Role"]
    scopes = [_DELEGATED_NAMES.get(i, roles.get(i, i)) for i, t in asked if t != "Role"]
    if scopes:
        parts.append(f"the delegated permission {names(scopes)}")
    delegated = ", and a delegated permission only acts for a signed-in user" if scopes else ""
    return f"{names(parts)} instead{delegated}"


class _Secret(NamedTuple):
    key_id: str
    name: str
    hint: str
    start: datetime | None
    end: datetime | None
    raw: Mapping[str, Any]

    @property
    def label(self) -> str:
        named = f"'{self.name}'" if self.name else f"key {self.key_id}"
        return f"{named} (hint {self.hint})" if self.hint else named

    def valid_at(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)

    def evidence(self) -> dict[str, Any]:
        return {"keyId": self.key_id, "displayName": self.name or None, "hint": self.hint or None,
                "start": self.raw.get("startDateTime"), "end": self.raw.get("endDateTime")}


def _secret(raw: Mapping[str, Any]) -> _Secret:
    return _Secret(str(raw.get("keyId") or ""), str(raw.get("displayName") or ""), str(raw.get("hint") or ""),
                   parse_time(raw.get("startDateTime")), parse_time(raw.get("endDateTime")), raw)


def _days(later: datetime, earlier: datetime) -> int:
    return round((later - earlier).total_seconds() / 86400)


@check("APP-004", "A client secret of the app is valid now and not about to expire", Severity.HIGH, link="app",
       remedy=rotate_secret, references=(GRAPH_CREDENTIAL_DOC, LEARN_CROSS_TENANT, PROFILE_FORM_ISSUE),
       depends_on=("APP-001",))
def client_secret_is_valid(application: Mapping[str, Any], client_id: str, thresholds: Thresholds,
                           now: datetime, profile_modified: Mapping[str, Any]) -> CheckResult:
    """The profile authenticates with a client secret; when the last valid one expires, every mailbox on the profile
    stops syncing at once (AADSTS7000222). Rotating takes a new secret and an edit of the profile, so it needs
    warning ahead of time. A new secret helps only once it is in the profile: if every secret that existed when the
    profile was last saved has expired, the profile very likely still holds an expired one."""
    app = application.get("object")
    if app is None:
        yield skipped(app_subject(client_id), _NO_APP)
        return
    secrets = [_secret(raw) for raw in app.get("passwordCredentials") or []]
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
