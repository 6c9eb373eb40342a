"""Microsoft Graph reads: the app registration, its service principal, the resource principals and consents."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import PermissionDenied, ProbeError
from ..model import Permission
from ..registry import probe
from ..settings import Settings

if TYPE_CHECKING:  # only a type here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.apis import Apis

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

READ_APPS_B = Permission("Microsoft Graph", "Application.Read.All", "tenant B")
READ_APPS_HOME = Permission("Microsoft Graph", "Application.Read.All", "the app's home tenant")
READ_DOMAINS_B = Permission("Microsoft Graph", "Domain.Read.All (or Organization.Read.All)", "tenant B")

_SP_SELECT = ("id,appId,displayName,accountEnabled,appOwnerOrganizationId,servicePrincipalType,signInAudience,"
              "passwordCredentials,disabledByMicrosoftStatus")
_RESOURCE_SELECT = "id,appId,displayName,appRoles"
_APP_SELECT = ("id,appId,displayName,signInAudience,passwordCredentials,keyCredentials,requiredResourceAccess,"
               "createdDateTime,publisherDomain,disabledByMicrosoftStatus")


@probe("tenant B's id", shared=("settings.exchange_tenant",))
def exchange_tenant_id(settings: Settings, apis: Apis) -> str:
    """Tenant B's GUID; a domain in the config is resolved through OIDC discovery (no credentials needed)."""
    if _GUID.fullmatch(settings.exchange_tenant):
        return settings.exchange_tenant
    document = apis.discovery(settings.exchange_tenant)
    found = _GUID.search(str(document.get("issuer", "")).lower())
    if found is None:
        raise ProbeError(f"OIDC discovery for {settings.exchange_tenant} named no tenant id in its issuer")
    return found.group(0)


@probe("the sync app's client id", lazy=("email_server_profile",))
def client_id(settings: Settings, email_server_profile: Callable[[], dict[str, Any]]) -> str:
    """The sync app's client id: configured, or read from the selected email server profile."""
    if settings.client_id:
        return settings.client_id
    selection = email_server_profile()
    value = str((selection.get("match") or {}).get("oauthclientid") or "").strip().lower()
    if not _GUID.fullmatch(value):
        raise ProbeError("no client id to check: set app.client_id in the config, or select a profile that holds "
                         "one (dynamics.profile)")
    return value


@probe("the sync app's service principal in tenant B",
       permissions=(READ_APPS_B,), shared=("exchange_tenant_id", "client_id"))
def client_service_principal(apis: Apis, exchange_tenant_id: str, client_id: str) -> dict[str, Any] | None:
    return apis.graph(exchange_tenant_id).get_optional(f"servicePrincipals(appId='{client_id}')",
                                                       {"$select": _SP_SELECT})


@probe("Office 365 Exchange Online's service principal in tenant B",
       permissions=(READ_APPS_B,), shared=("exchange_tenant_id",))
def exchange_resource_sp(apis: Apis, exchange_tenant_id: str) -> dict[str, Any] | None:
    return apis.graph(exchange_tenant_id).get_optional(f"servicePrincipals(appId='{EXCHANGE_APP_ID}')",
                                                       {"$select": _RESOURCE_SELECT})


@probe("Microsoft Graph's service principal in tenant B", permissions=(READ_APPS_B,), shared=("exchange_tenant_id",))
def graph_resource_sp(apis: Apis, exchange_tenant_id: str) -> dict[str, Any] | None:
    return apis.graph(exchange_tenant_id).get_optional(f"servicePrincipals(appId='{GRAPH_APP_ID}')",
                                                       {"$select": _RESOURCE_SELECT})


@probe("the app roles granted to the sync app in tenant B",
       permissions=(READ_APPS_B,), shared=("exchange_tenant_id", "client_service_principal"))
def app_role_assignments(apis: Apis, exchange_tenant_id: str,
                         client_service_principal: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every application permission consented to the app in tenant B (all pages, or an error)."""
    if client_service_principal is None:
        return []
    path = f"servicePrincipals/{client_service_principal['id']}/appRoleAssignments"
    return apis.graph(exchange_tenant_id).get_all(path).items


@probe("the sync app's registration", permissions=(READ_APPS_HOME,), shared=("exchange_tenant_id", "client_id"))
def application(settings: Settings, apis: Apis, exchange_tenant_id: str, client_id: str,
                client_service_principal: dict[str, Any] | None) -> dict[str, Any]:
    """The app registration, read in its home tenant: the one the service principal names, else B then A."""
    if client_service_principal is not None and client_service_principal.get("appOwnerOrganizationId"):
        tenants = [str(client_service_principal["appOwnerOrganizationId"]).lower()]
    else:
        tenants = list(dict.fromkeys([exchange_tenant_id, settings.dynamics_tenant]))
        tenants = [t for t in tenants if settings.credential_for(t) is not None] or tenants[:1]
    for tenant in tenants:
        found = apis.graph(tenant).get_optional(f"applications(appId='{client_id}')", {"$select": _APP_SELECT})
        if found is not None:
            return {"home_tenant": tenant, "searched": tenants, "object": found}
    return {"home_tenant": tenants[0] if len(tenants) == 1 else None, "searched": tenants, "object": None}


@probe("tenant B's verified domains", permissions=(READ_DOMAINS_B,), shared=("exchange_tenant_id",))
def tenant_domains(apis: Apis, exchange_tenant_id: str) -> dict[str, Any]:
    """Tenant B's verified domains: /domains (Domain.Read.All), else /organization (Organization.Read.All)."""
    graph = apis.graph(exchange_tenant_id)
    try:
        domains = graph.get_all("domains", {"$select": "id,isVerified,isDefault"}).items
        default = next((str(d["id"]).lower() for d in domains if d.get("isDefault")), None)
        return {"source": "domains", "default": default,
                "verified": sorted(str(d["id"]).lower() for d in domains if d.get("isVerified"))}
    except PermissionDenied:
        pass  # the reader may hold Organization.Read.All instead; try that before calling it an error
    try:
        org = graph.get_all("organization", {"$select": "id,displayName,verifiedDomains"}).items
    except PermissionDenied as exc:
        raise PermissionDenied(f"cannot read tenant B's domains: grant the reader Domain.Read.All or "
                               f"Organization.Read.All ({exc})", status=403) from None
    names = {str(d.get("name", "")).lower() for o in org for d in o.get("verifiedDomains") or []}
    default = next((str(d.get("name", "")).lower() for o in org for d in o.get("verifiedDomains") or []
                    if d.get("isDefault")), None)
    return {"source": "organization", "default": default, "display_name": org[0].get("displayName") if org else None,
            "verified": sorted(n for n in names if n)}
