"""Checks on tenant B: the app's service principal, and the Exchange and Microsoft Graph permissions consented to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import CheckResult, Severity, errored, failed, passed, skipped
from ..probes.entra import READ_APPS_B
from ..registry import check
from . import GRAPH_ROLES, app_subject, full_access_role, held_roles, missing_graph_roles, names, remedies

_NO_SP = "the app has no service principal in tenant B (see EXO-001)"


@check("EXO-001", "The app has an enabled service principal in the Exchange tenant", Severity.CRITICAL,
       remedy=remedies.create_service_principal,
       references=(remedies.LEARN_CROSS_TENANT, remedies.GRAPH_SERVICE_PRINCIPAL), permissions=(READ_APPS_B,),
       depends_on=("EXO-004",))
def service_principal_is_enabled(client_service_principal: Mapping[str, Any] | None, client_id: str,
                                 exchange_tenant_id: str) -> CheckResult:
    """Consent and sign-in in tenant B both hang on the app's service principal there: without one nothing was ever
    consented (AADSTS7000229), and a disabled one makes Entra refuse every token (AADSTS7000112)."""
    subject = app_subject(client_id)
    sp = client_service_principal
    if sp is None:
        yield failed(subject, f"app {client_id} has no service principal in tenant B ({exchange_tenant_id}): admin "
                     "consent was never given there", tenant=exchange_tenant_id)
        return
    evidence: dict[str, Any] = {"tenant": exchange_tenant_id, "service_principal_id": sp.get("id"),
                "display_name": sp.get("displayName"), "accountEnabled": sp.get("accountEnabled"),
                "appOwnerOrganizationId": sp.get("appOwnerOrganizationId"),
                "servicePrincipalType": sp.get("servicePrincipalType")}
    where = f"service principal '{sp.get('displayName')}' ({sp.get('id')}) of app {client_id} in tenant B"
    if sp.get("accountEnabled") is True:
        yield passed(subject, f"{where} is enabled", **evidence)
    elif sp.get("accountEnabled") is False:
        yield failed(subject, f"{where} is disabled (accountEnabled false), so Entra refuses its tokens", **evidence)
    else:
        yield errored(subject, f"{where} was read without accountEnabled, so whether it may sign in is unknown",
                      **evidence)


@check("EXO-002", "The app holds admin consent for full_access_as_app in the Exchange tenant", Severity.CRITICAL,
       remedy=remedies.grant_full_access,
       references=(remedies.LEARN_CROSS_TENANT, remedies.GRAPH_APP_ROLE_ASSIGNMENTS), permissions=(READ_APPS_B,),
       depends_on=("EXO-004", "EXO-001"))
def full_access_as_app_is_consented(client_service_principal: Mapping[str, Any] | None,
                                    exchange_resource_sp: Mapping[str, Any] | None,
                                    app_role_assignments: list[Mapping[str, Any]], client_id: str) -> CheckResult:
    """Requesting a permission grants nothing: only an administrator's consent in tenant B, recorded as an app role
    assignment, puts full_access_as_app into the app's Exchange tokens. Without it Exchange refuses every mailbox."""
    subject = app_subject(client_id)
    if client_service_principal is None:
        yield skipped(subject, _NO_SP)
        return
    if exchange_resource_sp is None:
        yield failed(subject, "tenant B has no Office 365 Exchange Online service principal: Exchange Online is not "
                     f"provisioned there, so app {client_id} cannot be granted full_access_as_app")
        return
    rid, note = full_access_role(exchange_resource_sp)
    held = held_roles(app_role_assignments, client_service_principal, exchange_resource_sp)
    evidence: dict[str, Any] = {"role_id": rid, "service_principal_id": client_service_principal.get("id"),
                "exchange_service_principal_id": exchange_resource_sp.get("id"),
                "exchange_roles_held": sorted(held.values())}
    grant = held.get(rid)
    if grant is not None:
        yield passed(subject, f"app {client_id} holds full_access_as_app on Office 365 Exchange Online in tenant B"
                     f"{note}", **evidence)
        return
    instead = f"holds {names(sorted(held.values()))} instead" if held else "holds no Exchange Online role at all"
    yield failed(subject, f"app {client_id} has no admin consent for full_access_as_app in tenant B: it {instead}"
                 f"{note}", **evidence)


@check("GRA-001", "The Microsoft Graph application permissions server-side sync needs are admin-consented in the "
       "Exchange tenant", Severity.HIGH, remedy=remedies.grant_graph_roles,
       references=(remedies.LEARN_CROSS_TENANT, remedies.GRAPH_SCRIPT, remedies.GRAPH_APP_ROLE_ASSIGNMENTS),
       permissions=(READ_APPS_B,), depends_on=("EXO-001",))
def graph_permissions_are_consented(client_service_principal: Mapping[str, Any] | None,
                                    graph_resource_sp: Mapping[str, Any] | None,
                                    app_role_assignments: list[Mapping[str, Any]], client_id: str) -> CheckResult:
    """Exchange Online is retiring EWS and Dynamics is moving cross-tenant sync to Microsoft Graph, so the app now
    also needs Graph application permissions in tenant B. The documentation lists ten roles; Microsoft's own script
    grants those plus User.Read.All, and this check asks for all eleven, looked up by name."""
    subject = app_subject(client_id)
    if client_service_principal is None:
        yield skipped(subject, _NO_SP)
        return
    missing, unknown = missing_graph_roles(client_service_principal, graph_resource_sp, app_role_assignments)
    evidence: dict[str, Any] = {"required": list(GRAPH_ROLES), "missing": missing, "not_offered": unknown,
                "graph_service_principal_id": (graph_resource_sp or {}).get("id")}
    if not missing:
        yield passed(subject, f"app {client_id} holds all {len(GRAPH_ROLES)} Microsoft Graph application permissions "
                     "server-side sync needs in tenant B", **evidence)
        return
    where = ("tenant B has no Microsoft Graph service principal" if graph_resource_sp is None
             else f"tenant B's Microsoft Graph does not offer {names(unknown)}")
    yield failed(subject, f"app {client_id} lacks {len(missing)} of the {len(GRAPH_ROLES)} Microsoft Graph "
                 f"application permissions server-side sync needs in tenant B: {', '.join(missing)}"
                 + (f" ({where})" if unknown else ""), **evidence)
