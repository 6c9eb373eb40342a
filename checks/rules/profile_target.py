"""Where the email server profile points: the app's client id (PRF-003), tenant B's id (PRF-004), and the cloud it
asks for tokens (PRF-006)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, failed, passed, skipped, warned
from ..registry import check
from ..settings import Settings
from . import clean_id, profile_subject
from .fixes import profile_name, profiles
from .sources import LEARN_CROSS_TENANT, LEARN_EXCHANGE_ONLINE, NATIONAL_CLOUDS, PROFILE_FORM_ISSUE, PROFILE_TABLE

_NO_PROFILE = "no email server profile selected (see PRF-001)"
_REFERENCES = (LEARN_CROSS_TENANT, LEARN_EXCHANGE_ONLINE, PROFILE_TABLE)


def _stray(raw: str) -> str:
    """A note when a stored id carries whitespace or braces that Dynamics may send as they are."""
    return f"; the stored value {raw!r} has stray whitespace or braces" if raw.strip().strip("{}").strip() != raw \
        else ""


def fix_profile_client_id(ids: RunIds) -> Remediation:
    name = profile_name(ids)
    return Remediation(
        f"Enter the app's Application (client) ID {ids.client_id} in {name}.",
        steps=(profiles(ids, f"open {name} > Application ID = {ids.client_id}"),
               "Copy the Application (client) ID from the app's overview page, not the Object ID beside it.",
               f"If the form hides the field (known issue: {PROFILE_FORM_ISSUE}), create a new profile with the right "
               "values and move the mailboxes to it; then run Test & Enable."),
    )


@check("PRF-003", "The profile's client id is the app's client id", Severity.HIGH, link="profile",
       remedy=fix_profile_client_id, references=(*_REFERENCES, PROFILE_FORM_ISSUE), depends_on=("PRF-001", "APP-001"))
def profile_client_id_matches_app(email_server_profile: Mapping[str, Any], settings: Settings) -> CheckResult:
    """Dynamics asks tenant B for tokens with the client id stored in the profile. A different id (often the app's
    Object ID, copied from beside it) names no app there and every token request fails (AADSTS700016)."""
    match = email_server_profile.get("match")
    subject = profile_subject(email_server_profile)
    if match is None:
        yield skipped(subject, _NO_PROFILE)
        return
    raw = str(match.get("oauthclientid") or "")
    value, note, name = clean_id(raw), _stray(raw), match.get("name")
    evidence: dict[str, Any] = {"oauthclientid": raw, "configured_client_id": settings.client_id}
    verdict = warned if note else passed
    if not value:
        yield failed(subject, f"profile {name} holds no client id (Application ID)", **evidence)
    elif settings.client_id is None:
        yield verdict(subject, f"profile {name} holds client id {value}, which is the id audited here because "
                      "app.client_id is not configured (APP-001 checks that it names a real app)" + note, **evidence)
    elif value == clean_id(settings.client_id):
        yield verdict(subject, f"profile {name} holds the app's client id {value}{note}", **evidence)
    else:
        yield failed(subject, f"profile {name} holds client id {value}, but the app's client id is "
                     f"{settings.client_id}{note}", **evidence)


def fix_profile_tenant(ids: RunIds) -> Remediation:
    name = profile_name(ids)
    return Remediation(
        f"Enter tenant B's tenant id {ids.exchange_tenant} in {name}.",
        steps=(profiles(ids, f"open {name} > TenantId = {ids.exchange_tenant}"),
               "Copy the Tenant ID from the Exchange tenant's Microsoft Entra overview page (not a subscription id).",
               f"If the form hides the field (known issue: {PROFILE_FORM_ISSUE}), create a new profile with the right "
               "values and move the mailboxes to it; then run Test & Enable."),
    )


@check("PRF-004", "The profile's Exchange tenant id is the Exchange tenant", Severity.HIGH, link="profile",
       remedy=fix_profile_tenant, references=_REFERENCES, depends_on=("PRF-001", "EXO-004"))
def profile_tenant_is_exchange_tenant(email_server_profile: Mapping[str, Any], exchange_tenant_id: str,
                                      settings: Settings) -> CheckResult:
    """Dynamics requests its tokens from the tenant id stored in the profile; any other tenant either does not exist
    (AADSTS90002) or holds neither the consent nor the mailboxes."""
    match = email_server_profile.get("match")
    subject = profile_subject(email_server_profile)
    if match is None:
        yield skipped(subject, _NO_PROFILE)
        return
    raw = str(match.get("exchangeonlinetenantid") or "")
    value, note, name = clean_id(raw), _stray(raw), match.get("name")
    evidence: dict[str, Any] = {"exchangeonlinetenantid": raw, "exchange_tenant": exchange_tenant_id}
    if not value:
        yield failed(subject, f"profile {name} holds no Exchange tenant id (TenantId)", **evidence)
    elif value == clean_id(exchange_tenant_id):
        yield (warned if note else passed)(subject, f"profile {name} points at the Exchange tenant {value}{note}",
                                           **evidence)
    else:
        yield failed(subject, f"profile {name} points at tenant {value}, but the Exchange tenant is "
                     f"{exchange_tenant_id}{_likely_cause(value, exchange_tenant_id, settings)}{note}", **evidence)


def _likely_cause(value: str, tenant: str, settings: Settings) -> str:
    if value == clean_id(settings.dynamics_tenant):
        return " (that is the Dynamics tenant itself)"
    differ = sum(a != b for a, b in zip(value, clean_id(tenant), strict=False))
    if len(value) == len(clean_id(tenant)) and differ <= 4:
        return f" (they differ in {differ} characters, which looks like a typing slip)"
    return ""


# serverauthority (emailserverprofile_serverauthority): the login authority the profile asks for tokens.
AUTHORITIES = {0: "Public (+GCC) (login.microsoftonline.com)",
               1: "US Government (GCC High and DoD) (login.microsoftonline.us)",
               2: "China (21Vianet) (login.chinacloudapi.cn)", 3: "Automatic (determined by Dynamics 365 cloud)"}
AUTOMATIC = 3
# tenant B's cloud_instance_name (OpenID discovery) -> the authority that reaches it
_BY_INSTANCE = {"microsoftonline.com": 0, "microsoftonline.us": 1, "partner.microsoftonline.cn": 2,
                "chinacloudapi.cn": 2}
# the Dynamics environment's host -> its cloud's authority (what Automatic picks)
_BY_ENVIRONMENT = {".dynamics.com": 0, ".microsoftdynamics.us": 1, ".appsplatform.us": 1, ".dynamics.cn": 2}


def set_server_authority(ids: RunIds) -> Remediation:
    name = profile_name(ids)
    return Remediation(
        f"Set {name}'s Server Authority to the cloud tenant {ids.exchange_tenant} lives in.",
        steps=(profiles(ids, f"open {name} > Server Authority = the cloud of tenant {ids.exchange_tenant} (Public for "
                             "the global cloud and GCC, US Government for GCC High and DoD, China for 21Vianet)"),
               "Automatic takes the Dynamics environment's own cloud: right only when both tenants are in the same "
               "cloud. Save, then Test & Enable one mailbox."),
    )


@check("PRF-006", "The profile asks the cloud the Exchange tenant lives in for its tokens", Severity.HIGH,
       link="profile", remedy=set_server_authority, references=(PROFILE_TABLE, NATIONAL_CLOUDS, LEARN_CROSS_TENANT),
       depends_on=("PRF-001", "EXO-004"))
def profile_authority_fits_the_exchange_cloud(email_server_profile: Mapping[str, Any],
                                              exchange_tenant_discovery: Mapping[str, Any],
                                              settings: Settings) -> CheckResult:
    """The profile's Server Authority (serverauthority) decides which cloud's login service Dynamics asks for the
    app's tokens: Public (+GCC), US Government, China, or Automatic, the Dynamics environment's own cloud. Tenant B
    exists in one cloud only (EXO-004 found which), and any other authority does not know it."""
    match, subject = email_server_profile.get("match"), profile_subject(email_server_profile)
    if match is None:
        yield skipped(subject, _NO_PROFILE)
        return
    value, name = match.get("serverauthority"), match.get("name")
    instance = str(exchange_tenant_discovery.get("cloud_instance") or "").lower()
    expected = next((a for suffix, a in _BY_INSTANCE.items() if instance == suffix or instance.endswith(f".{suffix}")),
                    None)
    host = settings.environment_url.split("://", 1)[-1].split(":", 1)[0].lower()
    dynamics = next((a for suffix, a in _BY_ENVIRONMENT.items() if host.endswith(suffix)), None)
    evidence: dict[str, Any] = {"serverauthority": value, "tenant_cloud_instance": instance or None,
                                "expected": expected, "environment_host": host}
    yield _authority_verdict(subject, str(name), value, expected, dynamics, evidence)


def _authority_verdict(subject: str, name: str, value: object, expected: int | None, dynamics: int | None,
                       evidence: dict[str, Any]) -> Outcome:
    if expected is None:
        return warned(subject, f"tenant B's cloud could not be told from its discovery document, so profile {name}'s "
                      "Server Authority cannot be compared with it", **evidence)
    wanted = AUTHORITIES[expected]
    if value not in AUTHORITIES:
        return warned(subject, f"profile {name}'s Server Authority reads {value!r}, not one of Microsoft's documented "
                      f"values; tenant B needs {wanted}", **evidence)
    if value == expected:
        return passed(subject, f"profile {name} asks {wanted} for tokens, the cloud tenant B lives in", **evidence)
    if value != AUTOMATIC:
        said = AUTHORITIES[value] if isinstance(value, int) else str(value)
        return failed(subject, f"profile {name} asks {said} for tokens, but tenant B lives in the cloud of {wanted}, "
                      "which that authority does not know", **evidence)
    return _automatic_verdict(subject, name, expected, dynamics, evidence)


def _automatic_verdict(subject: str, name: str, expected: int, dynamics: int | None,
                       evidence: dict[str, Any]) -> Outcome:
    wanted = AUTHORITIES[expected]
    if dynamics is None:
        return warned(subject, f"profile {name}'s Server Authority is Automatic (the Dynamics environment's cloud), "
                      f"and its address does not say which cloud that is; tenant B needs {wanted}", **evidence)
    if dynamics == expected:
        return passed(subject, f"profile {name}'s Server Authority is Automatic, and the Dynamics environment is in "
                      f"the cloud tenant B lives in ({wanted})", **evidence)
    return failed(subject, f"profile {name}'s Server Authority is Automatic, which picks the Dynamics environment's "
                  f"cloud ({AUTHORITIES[dynamics]}), but tenant B lives in the cloud of {wanted}", **evidence)
