"""A tenant's users and Conditional Access policies, built from a resolved scenario into the directory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .conditionalaccess import ALL_IN_TENANT, policy_object
from .directory import Directory, Tenant, derived_id
from .graphobjects import country_code
from .graphusers import (
    LICENSED_SINCE,
    M365_E3_SKU,
    GeneratedUsers,
    assigned_plan,
    e3_plans,
    mail_domain,
    user_object,
)


def scenario_user(raw: Mapping[str, Any], usage_location: str | None) -> dict[str, Any]:
    """A scenario's user: mail defaults to the primary SMTP proxy address, proxyAddresses to SMTP:<mail>, and
    `exchangeLicense` (default true) to a Microsoft 365 E3 licence unless assignedPlans are spelled out."""
    proxies = list(raw.get("proxyAddresses", []))
    primary = next((p.partition(":")[2].strip() for p in proxies if p.startswith("SMTP:")), None)
    mail = raw.get("mail", primary)
    if not proxies and mail:
        proxies = [f"SMTP:{mail}"]
    if "assignedPlans" in raw:
        plans = [assigned_plan(p["service"], p["servicePlanId"].lower(), p.get("assignedDateTime", LICENSED_SINCE),
                               p["capabilityStatus"]) for p in raw["assignedPlans"]]
    else:
        plans = e3_plans() if raw.get("exchangeLicense", True) else []
    return user_object(raw["id"].lower(), raw["displayName"], raw["userPrincipalName"], mail=mail,
                       proxy_addresses=proxies, enabled=raw.get("accountEnabled", True), plans=plans,
                       sku=M365_E3_SKU, usage_location=raw.get("usageLocation", usage_location),
                       created=raw.get("createdDateTime", "2024-01-01T00:00:00Z"),
                       user_type=raw.get("userType", "Member"))


def add_users(directory: Directory, tenant: Tenant, raws: list[dict[str, Any]]) -> None:
    store, usage_location = directory.users[tenant.id], country_code(tenant)
    for raw in raws:
        if store.candidates("id", raw["id"]) or store.candidates("userPrincipalName", raw["userPrincipalName"]):
            raise ValueError(f"user {raw['userPrincipalName']!r}: its id or userPrincipalName is taken already")
        store.add(scenario_user(raw, usage_location))


def add_tenant_generated_users(directory: Directory, tenant: Tenant, count: int) -> None:
    """A tenant's `generatedUsers`: user00001@<its default domain>... built only when read, so an estate's
    thousands of environments can each sync their own mailboxes without a user object apiece held in memory."""
    if count <= 0:
        return
    domain = next((d["id"] for d in tenant.domains if d.get("isDefault") and d.get("isVerified", True)),
                  tenant.verified_domains()[0])
    prefix = derived_id("tenant-generated-users", tenant.id).rpartition("-")[0]
    directory.users[tenant.id].add_generated(GeneratedUsers(prefix, count, domain, country_code(tenant)))


def add_generated_users(directory: Directory, environment: Mapping[str, Any]) -> None:
    """One user per generated mailbox, in the tenant whose verified domain the generated addresses use (none when
    no tenant has verified it): enabled, licensed for Exchange Online (Plan 1), built only when read."""
    count = int((environment.get("generate") or {}).get("mailboxes", 0))
    home = next((t for t in directory.tenants.values() if t.ref == environment["tenant"]), None)
    if count <= 0 or home is None:
        return
    domain = mail_domain(environment.get("mailboxes", []), home.verified_domains())
    owner = directory.tenant(domain)
    if owner is None:
        return
    prefix = derived_id("generated-users", owner.id, environment["ref"]).rpartition("-")[0]
    directory.users[owner.id].add_generated(GeneratedUsers(prefix, count, domain, country_code(owner)))


def add_policies(directory: Directory, tenant_id: str, raws: list[dict[str, Any]],
                 service_principal: Callable[[str], dict[str, Any] | None]) -> None:
    """The tenant's Conditional Access policies; a service principal is named by object id, by "sp:<ref>" (a
    scenario service principal or reader in that tenant) or as ServicePrincipalsInMyTenant."""

    def object_id(name: str) -> str:
        if not name.startswith("sp:"):
            return name if name == ALL_IN_TENANT else name.lower()
        sp = service_principal(name[3:])
        if sp is None:
            raise ValueError(f"conditional access policy: no service principal {name[3:]!r} in that tenant")
        return str(sp["id"])

    for raw in raws:
        policy_id = raw.get("id", derived_id("conditional-access", tenant_id, raw["displayName"])).lower()
        directory.policies[tenant_id].append(policy_object(raw, policy_id, object_id))
