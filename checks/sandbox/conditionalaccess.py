"""Conditional Access policies: the v1.0 `conditionalAccessPolicy` shape, and which ones block an app-only sign-in."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

ALL_IN_TENANT = "ServicePrincipalsInMyTenant"

# Graph's value for every key a scenario leaves out; a nested object the scenario gives gets its own defaults.
_CONDITIONS: dict[str, Any] = {
    "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"], "servicePrincipalRiskLevels": [],
    "insiderRiskLevels": None, "platforms": None, "locations": None, "devices": None, "clientApplications": None,
    "authenticationFlows": None,
    "applications": {"includeApplications": [], "excludeApplications": [], "includeUserActions": [],
                     "includeAuthenticationContextClassReferences": [], "applicationFilter": None},
    "users": {"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [], "includeRoles": [],
              "excludeRoles": [], "includeGuestsOrExternalUsers": None, "excludeGuestsOrExternalUsers": None},
}
_NESTED: dict[str, dict[str, Any]] = {
    "clientApplications": {"includeServicePrincipals": [], "excludeServicePrincipals": [],
                           "servicePrincipalFilter": None},
    "locations": {"includeLocations": [], "excludeLocations": []},
    "platforms": {"includePlatforms": [], "excludePlatforms": []},
}
_GRANT: dict[str, Any] = {"operator": "OR", "builtInControls": [], "customAuthenticationFactors": [],
                          "termsOfUse": [], "authenticationStrength": None}
PROPERTIES = frozenset({"id", "templateId", "displayName", "createdDateTime", "modifiedDateTime", "state",
                        "sessionControls", "conditions", "grantControls"})


def _filled(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(dict(defaults)), **copy.deepcopy(dict(given))}


def _conditions(given: Mapping[str, Any], service_principal: Callable[[str], str]) -> dict[str, Any]:
    conditions = _filled(_CONDITIONS, given)
    for key in ("applications", "users"):
        conditions[key] = _filled(_CONDITIONS[key], given.get(key) or {})
    for key, defaults in _NESTED.items():
        if conditions[key] is not None:
            conditions[key] = _filled(defaults, conditions[key])
    clients = conditions["clientApplications"]
    if clients is not None:
        for key in ("includeServicePrincipals", "excludeServicePrincipals"):
            clients[key] = [service_principal(name) for name in clients[key]]
    return conditions


def policy_object(raw: Mapping[str, Any], policy_id: str, service_principal: Callable[[str], str]) -> dict[str, Any]:
    """A policy as Graph returns it, from a scenario's (Graph-shaped, keys left out take Graph's defaults);
    `service_principal` turns a name in include/excludeServicePrincipals ("sp:<ref>") into an object id."""
    grant = raw.get("grantControls")
    return {
        "id": policy_id, "templateId": raw.get("templateId"), "displayName": raw["displayName"],
        "createdDateTime": raw.get("createdDateTime", "2025-01-01T00:00:00Z"),
        "modifiedDateTime": raw.get("modifiedDateTime"), "state": raw["state"],
        "sessionControls": copy.deepcopy(raw.get("sessionControls")),
        "conditions": _conditions(raw.get("conditions", {}), service_principal),
        "grantControls": None if grant is None else _filled(_GRANT, grant),
    }


def _lowered(values: Iterable[Any]) -> set[str]:
    return {str(value).lower() for value in values}


def _targets(clients: Mapping[str, Any] | None, sp_id: str) -> bool:
    """The policy's workload identity condition names the service principal (directly or as one of the tenant's)."""
    if clients is None or clients.get("servicePrincipalFilter") is not None:
        return False  # no workload identity condition; or a filter on attributes the sandbox does not keep
    included = _lowered(clients["includeServicePrincipals"])
    return bool({sp_id.lower(), ALL_IN_TENANT.lower()} & included) and \
        sp_id.lower() not in _lowered(clients["excludeServicePrincipals"])


def _covers(applications: Mapping[str, Any], resource_app_id: str) -> bool:
    included, excluded = _lowered(applications["includeApplications"]), _lowered(applications["excludeApplications"])
    return bool({"all", resource_app_id.lower()} & included) and resource_app_id.lower() not in excluded


def _anywhere(locations: Mapping[str, Any] | None) -> bool:
    """The sandbox has no network location: only a policy for every location (or none) applies."""
    return locations is None or (_lowered(locations["includeLocations"]) == {"all"}
                                 and not locations["excludeLocations"])


def blocks(policy: Mapping[str, Any], sp_id: str, resource_app_id: str) -> bool:
    """Whether an enabled block policy applies to a token request of service principal `sp_id` for the resource
    (report-only and disabled policies never block; risk levels the sandbox cannot assess count as not met)."""
    grant, conditions = policy["grantControls"], policy["conditions"]
    return (policy["state"] == "enabled" and grant is not None and "block" in _lowered(grant["builtInControls"])
            and not conditions["servicePrincipalRiskLevels"] and _targets(conditions["clientApplications"], sp_id)
            and _covers(conditions["applications"], resource_app_id) and _anywhere(conditions["locations"]))


def blocking_policy(policies: Iterable[Mapping[str, Any]], sp_id: str,
                    resource_app_id: str) -> Mapping[str, Any] | None:
    """The first policy that blocks the sign-in. The caller asks only for service principals of apps registered in
    the policies' tenant: Conditional Access for workload identities leaves multitenant apps of others out."""
    return next((p for p in policies if blocks(p, sp_id, resource_app_id)), None)
