"""Checks on the app registration in its home tenant: it exists, is multitenant, asks for full_access_as_app, has a
valid secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..model import CheckResult, Remediation, RunIds, Severity, failed, passed, skipped, warned
from ..probes.entra import EXCHANGE_APP_ID
from ..registry import check
from . import (
    FULL_ACCESS_ROLE_ID,
    app_subject,
    clean_id,
    full_access_role,
    held_roles,
    names,
    role_names,
    same_id,
)
from .fixes import FULL_ACCESS_REACH, SCOPING, app_registration, consent_risks, consent_url
from .sources import (
    ACCOUNT_TYPES,
    ADMIN_CONSENT,
    CA_WORKLOAD_IDENTITIES,
    GRAPH_APP_ROLE_ASSIGNMENT,
    GRAPH_APPLICATION,
    GRAPH_REQUIRED_ACCESS,
    GRAPH_SERVICE_PRINCIPAL,
    LEARN_CROSS_TENANT,
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


def sign_in_to_exchange_tenant(ids: RunIds) -> Remediation:
    return Remediation(
        f"Let the app {ids.client_id} sign in to tenant {ids.exchange_tenant}: register it there, as Microsoft's setup "
        "does, or make the registration it has multitenant.",
        steps=(f"Microsoft's setup registers the app in the tenant where Exchange Online lives, {ids.exchange_tenant}: "
               "register one there (single tenant is enough), give it full_access_as_app and the Graph roles, and "
               "put its client id and secret in the email server profile.",
               "Or keep this registration and make it multitenant: " + app_registration(
                   ids, "Authentication > Supported account types > Accounts in any organizational directory > "
                        "Save") + "; then an administrator of tenant B consents to it.",
               "A multitenant app's service principal in tenant B is out of reach of Conditional Access for workload "
               "identities, which covers only single-tenant apps registered in the tenant: registering in tenant B "
               "keeps that protection."),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app update --id {ids.client_id} --sign-in-audience AzureADMultipleOrgs"),
    )


@check("APP-002", "The app can sign in to the Exchange tenant: registered there, or multitenant", Severity.HIGH,
       link="app", remedy=sign_in_to_exchange_tenant,
       references=(LEARN_CROSS_TENANT, ACCOUNT_TYPES, CA_WORKLOAD_IDENTITIES, GRAPH_APPLICATION),
       depends_on=("APP-001",))
def app_can_sign_in_to_the_exchange_tenant(application: Mapping[str, Any], client_id: str,
                                           exchange_tenant_id: str) -> CheckResult:
    """Server-side sync asks tenant B for the app's tokens. Microsoft's setup registers the app in tenant B, where
    any supported account type signs in (and a single-tenant app stays within reach of Conditional Access for
    workload identities). An app registered in another tenant must be multitenant to have a service principal in
    tenant B at all; a single-tenant one is refused there (AADSTS700016)."""
    app = application.get("object")
    subject = app_subject(client_id)
    if app is None:
        yield skipped(subject, _NO_APP)
        return
    audience, home = app.get("signInAudience"), str(application.get("home_tenant") or "")
    evidence: dict[str, Any] = {"signInAudience": audience, "home_tenant": home, "exchange_tenant": exchange_tenant_id}
    if audience == "PersonalMicrosoftAccount":
        yield failed(subject, f"app {client_id} accepts personal Microsoft accounts only (signInAudience {audience}), "
                     "so no organization's directory, tenant B's included, issues it a token", **evidence)
    elif same_id(home, exchange_tenant_id):
        yield passed(subject, f"app {client_id} is registered in tenant B {exchange_tenant_id}, where Exchange Online "
                     f"lives, so it signs in there (signInAudience {audience}){_audience_note(audience)}", **evidence)
    elif audience in (MULTITENANT, MULTITENANT_AND_PERSONAL):
        personal = ", and personal Microsoft accounts too" if audience == MULTITENANT_AND_PERSONAL else ""
        yield passed(subject, f"app {client_id} is registered in tenant {home} and accepts accounts in any "
                     f"organizational directory (signInAudience {audience}{personal}), so tenant B can hold its "
                     "service principal", **evidence)
    else:
        kind = _NARROW.get(str(audience), "not multitenant")
        yield failed(subject, f"app {client_id} is registered in tenant {home or 'unknown'}, not in tenant B "
                     f"{exchange_tenant_id}, and is {kind} (signInAudience {audience}): only its home tenant accepts "
                     "it, so tenant B refuses its tokens (AADSTS700016)", **evidence)


def _audience_note(audience: object) -> str:
    if audience in (MULTITENANT, MULTITENANT_AND_PERSONAL):
        return ("; single tenant would be enough here, and would keep it within reach of Conditional Access for "
                "workload identities, which does not cover multitenant apps")
    return ""


def request_full_access(ids: RunIds) -> Remediation:
    return Remediation(
        f"Request full_access_as_app on Office 365 Exchange Online as an application permission for the app "
        f"{ids.client_id}, then grant admin consent in tenant {ids.exchange_tenant}.",
        steps=(app_registration(ids, "API permissions > Add a permission > APIs my organization uses > Office 365 "
                                     "Exchange Online > Application permissions > full_access_as_app"),
               "Remove Exchange permissions picked by mistake (a delegated EWS.AccessAsUser.All, "
               "Exchange.ManageAsApp) unless something else needs them.",
               f"Grant admin consent as an administrator of tenant {ids.exchange_tenant}: {consent_url(ids)}",
               *consent_risks(ids), FULL_ACCESS_REACH),
        commands=(f"az login --tenant {ids.home_tenant} --allow-no-subscriptions",
                  f"az ad app permission add --id {ids.client_id} --api {EXCHANGE_APP_ID} "
                  f"--api-permissions {FULL_ACCESS_ROLE_ID}=Role"),
        links=(SCOPING,),
    )


@check("APP-003", "The app requests full_access_as_app on Office 365 Exchange Online as an application permission",
       Severity.HIGH, link="app", remedy=request_full_access,
       references=(LEARN_CROSS_TENANT, GRAPH_REQUIRED_ACCESS, GRAPH_APP_ROLE_ASSIGNMENT, ADMIN_CONSENT),
       depends_on=("APP-001",))
def full_access_as_app_is_requested(application: Mapping[str, Any], exchange_resource_sp: Mapping[str, Any] | None,
                                    client_service_principal: Mapping[str, Any] | None,
                                    app_role_assignments: list[Mapping[str, Any]], client_id: str) -> CheckResult:
    """Server-side sync signs in as the app itself (client credentials), so Exchange needs the application
    permission full_access_as_app; a delegated permission only acts for a signed-in user. Only the app role
    assignment in tenant B (EXO-002) puts the role into tokens; the request (requiredResourceAccess) is what an
    administrator's consent grants, so a role held without being requested works today but can be lost the next
    time consent is given."""
    app = application.get("object")
    subject = app_subject(client_id)
    if app is None:
        yield skipped(subject, _NO_APP)
        return
    rid, note = full_access_role(exchange_resource_sp)
    asked = list(_exchange_access(app))
    held = held_roles(app_role_assignments, client_service_principal or {}, exchange_resource_sp or {}) \
        if client_service_principal and exchange_resource_sp else {}
    evidence: dict[str, Any] = {"requested": [{"id": i, "type": t} for i, t in asked], "role_id": rid,
                                "consented": rid in held}
    if (rid, "Role") in asked and rid == FULL_ACCESS_ROLE_ID:
        yield passed(subject, f"app {client_id} requests full_access_as_app as an application permission on Office "
                     f"365 Exchange Online{note}", **evidence)
    elif (rid, "Role") in asked or (FULL_ACCESS_ROLE_ID, "Role") in asked:
        yield warned(subject, f"app {client_id} requests full_access_as_app, but tenant B's Exchange Online gives "
                     f"that role the id {rid}, not the well-known {FULL_ACCESS_ROLE_ID}; verify which one the app "
                     "asks for", **evidence)
    elif rid in held:
        listed = _describe(asked, role_names(exchange_resource_sp), instead=False)
        yield warned(subject, f"app {client_id} does not request full_access_as_app (its API permissions name "
                     f"{listed}), but tenant B has consented it, so its tokens carry the role and sync works; add it "
                     "to the app's API permissions, because "
                     "granting tenant-wide admin consent may revoke permissions already granted tenant-wide for the "
                     f"app{note}", **evidence)
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


def _describe(asked: list[tuple[str, str]], roles: Mapping[str, str], *, instead: bool = True) -> str:
    if not asked:
        return "no Office 365 Exchange Online permission at all"
    parts = [f"the application permission {roles.get(i, i)}" for i, t in asked if t == "Role"]
    scopes = [_DELEGATED_NAMES.get(i, roles.get(i, i)) for i, t in asked if t != "Role"]
    if scopes:
        parts.append(f"the delegated permission {names(scopes)}")
    if not instead:
        return names(parts)
    delegated = ", and a delegated permission only acts for a signed-in user" if scopes else ""
    return f"{names(parts)} instead{delegated}"


_DISABLED = "DisabledDueToViolationOfServicesAgreement"


def appeal_disabled_app(ids: RunIds) -> Remediation:
    return Remediation(
        f"Microsoft has disabled the app {ids.client_id}; sync cannot use it. Register a new app, or ask Microsoft "
        "support why it was disabled.",
        steps=(f"Microsoft disables an app for a violation of the Microsoft Services Agreement (suspicious, abusive "
               f"or malicious activity); only Microsoft support can say why and lift it. Open a support request in "
               f"the app's home tenant {ids.home_tenant}.",
               f"Meanwhile register a new app in tenant {ids.exchange_tenant} as Microsoft's setup describes, give it "
               "the same permissions, and put its client id and secret in the email server profile."),
        commands=(f"az rest --url \"{ids.graph_host}/v1.0/applications(appId='{ids.client_id}')"
                  "?$select=displayName,disabledByMicrosoftStatus\"",),
    )


@check("APP-005", "Microsoft has not disabled the app or its service principal", Severity.CRITICAL, link="app",
       remedy=appeal_disabled_app, references=(GRAPH_APPLICATION, GRAPH_SERVICE_PRINCIPAL),
       depends_on=("APP-001",))
def app_is_not_disabled_by_microsoft(application: Mapping[str, Any],
                                     client_service_principal: Mapping[str, Any] | None,
                                     client_id: str) -> CheckResult:
    """Microsoft can disable an app registration or its service principal for a violation of the Microsoft
    Services Agreement (disabledByMicrosoftStatus); a disabled app gets no tokens, so nothing syncs, whatever
    else is configured. Nothing else in the tenant says so as plainly."""
    app = application.get("object")
    subject = app_subject(client_id)
    if app is None:
        yield skipped(subject, _NO_APP)
        return
    seen = {"application": app.get("disabledByMicrosoftStatus")}
    if client_service_principal is not None:
        seen["service principal in tenant B"] = client_service_principal.get("disabledByMicrosoftStatus")
    evidence: dict[str, Any] = {"disabledByMicrosoftStatus": seen}
    disabled = [where for where, value in seen.items() if value == _DISABLED]
    odd = [f"{where} ({value})" for where, value in seen.items() if value not in (None, "NotDisabled", _DISABLED)]
    if disabled:
        yield failed(subject, f"Microsoft has disabled app {client_id}: its {names(disabled)} "
                     f"{'has' if len(disabled) == 1 else 'have'} disabledByMicrosoftStatus {_DISABLED}, so it gets "
                     "no tokens and nothing syncs", **evidence)
    elif odd:
        yield warned(subject, f"app {client_id} has a disabledByMicrosoftStatus xtcheck does not know on its "
                     f"{names(odd)}; Microsoft documents null, NotDisabled and {_DISABLED}: look at the app in the "
                     "Entra admin center", **evidence)
    else:
        yield passed(subject, f"Microsoft has not disabled app {client_id} ({names(list(seen))} read)", **evidence)
