"""Microsoft Graph reads of tenant B that need an optional permission: its Conditional Access policies (EXO-005) and
its mail recipients (MBX-006). Without the permission the read says so, and the check skips; it is never an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import PermissionDenied
from ..model import Permission
from ..registry import probe

if TYPE_CHECKING:  # only a type here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.apis import Apis

READ_POLICIES_B = Permission("Microsoft Graph", "Policy.Read.All", "tenant B", optional=True)
READ_USERS_B = Permission("Microsoft Graph", "User.Read.All", "tenant B", optional=True)
_POLICY_SELECT = "id,displayName,state,conditions,grantControls"
_USER_SELECT = "id,userPrincipalName,mail,proxyAddresses,accountEnabled,assignedPlans"
_USABLE = frozenset({"enabled", "warning"})  # an assigned plan in normal use, or in its grace period


@probe("tenant B's Conditional Access policies", permissions=(READ_POLICIES_B,), shared=("exchange_tenant_id",))
def conditional_access_policies(apis: Apis, exchange_tenant_id: str) -> dict[str, Any]:
    """{"granted": True, "policies": [each policy's id, name, state, and the conditions and controls that decide
    whether it blocks a service principal]}, or {"granted": False, "reason": ...} without Policy.Read.All."""
    try:
        items = apis.graph(exchange_tenant_id).get_all("identity/conditionalAccess/policies",
                                                       {"$select": _POLICY_SELECT}).items
    except PermissionDenied as exc:
        return {"granted": False, "reason": str(exc)}
    return {"granted": True, "policies": [_policy(p) for p in items]}


def _policy(raw: Mapping[str, Any]) -> dict[str, Any]:
    conditions = _mapping(raw.get("conditions"))
    applications = _mapping(conditions.get("applications"))
    clients = _mapping(conditions.get("clientApplications"))
    locations = conditions.get("locations")
    grant = _mapping(raw.get("grantControls"))
    return {
        "id": raw.get("id"), "displayName": raw.get("displayName"), "state": raw.get("state"),
        "includeApplications": _strings(applications.get("includeApplications")),
        "excludeApplications": _strings(applications.get("excludeApplications")),
        "includeServicePrincipals": _strings(clients.get("includeServicePrincipals")),
        "excludeServicePrincipals": _strings(clients.get("excludeServicePrincipals")),
        "includeLocations": _strings(_mapping(locations).get("includeLocations")) if locations else None,
        "excludeLocations": _strings(_mapping(locations).get("excludeLocations")) if locations else None,
        "builtInControls": _strings(grant.get("builtInControls")),
    }


@probe("tenant B's users", permissions=(READ_USERS_B,), shared=("exchange_tenant_id",))
def exchange_recipients(apis: Apis, exchange_tenant_id: str) -> dict[str, Any]:
    """Every user of tenant B as MBX-006 reads it, one paged query (a page kept at a time, each user cut down to its
    addresses, whether it is enabled and its Exchange Online plan): {"granted": True, "rows": [{"id", "upn",
    "addresses" (lower case: mail, UPN and SMTP proxy addresses), "enabled", "exchange" (the Exchange plan's
    capabilityStatus, or None)}], "pages"}; {"granted": False, "reason": ...} without User.Read.All."""
    rows: list[dict[str, Any]] = []
    pages = 0
    try:
        for page in apis.graph(exchange_tenant_id).pages("users", {"$select": _USER_SELECT, "$top": "999"}):
            rows.extend(_recipient(user) for user in page)
            pages += 1
    except PermissionDenied as exc:
        return {"granted": False, "reason": str(exc)}
    return {"granted": True, "rows": rows, "pages": pages}


@probe("tenant B's users by address", shared=("exchange_tenant_id",))
def recipient_index(exchange_recipients: Mapping[str, Any], exchange_tenant_id: str) -> dict[str, Mapping[str, Any]]:
    """Each address of tenant B's users (lower case) to its user, the first user that has it: derived once per
    tenant B, however many targets' mailboxes are looked up in it (MBX-006), and never saved in a snapshot."""
    return index_by_address(exchange_recipients.get("rows") or [])


def index_by_address(users: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    index: dict[str, Mapping[str, Any]] = {}
    for user in users:
        for address in user.get("addresses") or []:
            index.setdefault(str(address).lower(), user)
    return index


def _recipient(user: Mapping[str, Any]) -> dict[str, Any]:
    smtp = [str(a)[5:].strip() for a in _strings(user.get("proxyAddresses")) if str(a).lower().startswith("smtp:")]
    named = (user.get("mail"), user.get("userPrincipalName"), *smtp)
    addresses = [a.lower() for a in named if isinstance(a, str) and a]
    plans = [p for p in user.get("assignedPlans") or [] if isinstance(p, Mapping)
             and str(p.get("service", "")).lower() == "exchange"]
    usable = [p for p in plans if str(p.get("capabilityStatus", "")).lower() in _USABLE]
    status = (usable or plans or [{}])[0].get("capabilityStatus")
    return {"id": user.get("id"), "upn": user.get("userPrincipalName"), "addresses": list(dict.fromkeys(addresses)),
            "enabled": user.get("accountEnabled"), "exchange": status}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
