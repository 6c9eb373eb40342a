"""Tenant discovery without credentials: does tenant B exist in the configured cloud, and where does it live."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import NotFound
from ..registry import probe
from ..settings import Settings

if TYPE_CHECKING:  # only a type here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.apis import Apis

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# cloud_instance_name each configured cloud's login host reports for its own tenants; custom endpoints (a proxy,
# the sandbox) stand in for the public cloud.
CLOUD_INSTANCES = {"public": "microsoftonline.com", "usgov": "microsoftonline.us", "usgov-dod": "microsoftonline.us",
                   "china": "partner.microsoftonline.cn", "custom": "microsoftonline.com"}


@probe("tenant B's sign-in discovery document", shared=("settings.exchange_tenant",))
def exchange_tenant_discovery(settings: Settings, apis: Apis) -> dict[str, Any]:
    """OIDC discovery for the configured tenant B: found or not (AADSTS90002), its id, region and cloud."""
    query = settings.exchange_tenant
    result: dict[str, Any] = {"query": query, "expected_instance": CLOUD_INSTANCES.get(settings.cloud.name),
                              "cloud": settings.cloud.name, "login": settings.cloud.login}
    try:
        document = apis.discovery(query)
    except NotFound as exc:
        return {**result, "found": False, "error": str(exc)}
    issuer = str(document.get("issuer", "")).lower()
    tenant = _GUID.search(issuer)
    return {**result, "found": tenant is not None, "tenant_id": tenant.group(0) if tenant else None,
            "issuer": document.get("issuer"), "region": document.get("tenant_region_scope"),
            "sub_scope": document.get("tenant_region_sub_scope"),
            "cloud_instance": document.get("cloud_instance_name"), "graph_host": document.get("msgraph_host")}
