"""The sandbox's Entra directory built from a resolved scenario: tenants, apps, readers, service principals, grants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from . import firstparty
from .directory import (
    AppCertificate,
    Directory,
    FederatedCredential,
    ManagedIdentity,
    PublicClient,
    Secret,
    Tenant,
    derived_id,
)
from .graphobjects import application_object, password_credentials, service_principal_object
from .graphusers import UserStore
from .pki import make_app_cert
from .tenantbuilder import add_generated_users, add_policies, add_tenant_generated_users, add_users

# A tenant nobody touched: EWS follows the default ($null, allowed until Microsoft switches it off), no lists.
EXCHANGE_ORGANIZATION_DEFAULTS: dict[str, Any] = {
    "EwsEnabled": None, "EwsAllowedAppIDs": None, "EwsApplicationAccessPolicy": None,
    "EwsAllowList": None, "EwsBlockList": None,
}


def parse_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


class _Builder:
    """Turns a resolved scenario into a Directory."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.scenario = scenario
        self.directory = Directory()
        self.refs: dict[str, str] = {}  # tenant ref -> id
        self.sp_refs: dict[tuple[str, str], dict[str, Any]] = {}  # (tenant id, ref) -> SP

    def build(self) -> Directory:
        for tenant in self.scenario.get("tenants", []):
            self._add_tenant(tenant)
        for app in self.scenario.get("applications", []):
            self._add_application(app)
        for reader in self.scenario.get("readers", []):
            self._add_reader(reader)
        for sp in self.scenario.get("servicePrincipals", []):
            self._add_service_principal(sp)
        for assignment in self.scenario.get("appRoleAssignments", []):
            self._add_assignment(assignment)
        for reader in self.scenario.get("readers", []):
            self._grant_reader(reader)
        for tenant in self.scenario.get("tenants", []):
            self._add_users_and_policies(tenant)
        for environment in self.scenario.get("environments", []):
            add_generated_users(self.directory, environment)
        return self.directory

    def tenant_id(self, ref: str) -> str:
        if ref not in self.refs:
            raise ValueError(f"unknown tenant ref {ref!r}; declare it under 'tenants'")
        return self.refs[ref]

    def _add_tenant(self, raw: dict[str, Any]) -> None:
        tenant_id = raw["id"].lower()
        self.refs[raw["ref"]] = tenant_id
        services = frozenset(raw.get("services", ["exchange", "graph", "dataverse"]))
        organization = {**EXCHANGE_ORGANIZATION_DEFAULTS, **raw.get("exchangeOrganization", {})}
        tenant = Tenant(tenant_id, raw["ref"], raw["displayName"], raw.get("region", "WW"),
                        raw.get("cloud", "public"), tuple(raw["domains"]), services, organization)
        self.directory.tenants[tenant_id] = tenant
        self.directory.service_principals[tenant_id] = []
        self.directory.assignments[tenant_id] = []
        self.directory.delegated_grants[tenant_id] = []
        self.directory.users[tenant_id] = UserStore()
        self.directory.policies[tenant_id] = []
        for key in sorted(services):
            resource = firstparty.RESOURCES[key]
            sp = self._service_principal(tenant_id, derived_id(tenant_id, resource.app_id), resource.app_id,
                                         resource.display_name, firstparty.MICROSOFT_TENANT,
                                         "AzureADMultipleOrgs", app_roles=firstparty.app_roles(resource))
            self.sp_refs[(tenant_id, key)] = sp

    def _add_users_and_policies(self, raw: dict[str, Any]) -> None:
        tenant_id = self.tenant_id(raw["ref"])
        add_users(self.directory, self.directory.tenants[tenant_id], raw.get("users", []))
        add_tenant_generated_users(self.directory, self.directory.tenants[tenant_id], int(raw.get("generatedUsers", 0)))
        add_policies(self.directory, tenant_id, raw.get("conditionalAccessPolicies", []),
                     lambda ref: self.sp_refs.get((tenant_id, ref)))

    def _add_application(self, raw: dict[str, Any]) -> None:
        app_id = raw["appId"].lower()
        home = self.tenant_id(raw["tenant"])
        secrets = _secrets(raw)
        certs = [self._certificate(k) for k in raw.get("keyCredentials", [])]
        self.directory.app_home[app_id] = home
        self.directory.secrets[app_id] = secrets
        self.directory.certificates[app_id] = certs
        self.directory.applications[app_id] = application_object(raw, secrets, certs)

    def _certificate(self, raw: dict[str, Any]) -> AppCertificate:
        start, end = _time(raw["startDateTime"]), _time(raw["endDateTime"])
        name = raw["certificate"]
        cert = self.directory.named_certificates.get(name)
        if cert is None:
            cert = make_app_cert(name, start, end)
            self.directory.named_certificates[name] = cert
        return AppCertificate(raw["keyId"].lower(), cert, start, end)

    def _add_reader(self, raw: dict[str, Any]) -> None:
        if raw.get("managedIdentity"):
            self._add_managed_identity(raw)
            return
        app: dict[str, Any] = {
            "ref": raw["ref"], "tenant": raw["home"], "id": derived_id("reader-app", raw["appId"]),
            "appId": raw["appId"], "displayName": raw["displayName"], "signInAudience": "AzureADMultipleOrgs",
            "createdDateTime": "2025-01-01T00:00:00Z",
        }
        far = "2099-01-01T00:00:00Z"
        if "secret" in raw:
            app["passwordCredentials"] = [{"keyId": derived_id("reader-secret", raw["appId"]),
                                           "displayName": "xtcheck", "secret": raw["secret"],
                                           "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": far}]
        if "certificate" in raw:
            app["keyCredentials"] = [{"keyId": derived_id("reader-cert", raw["appId"]), "displayName": "xtcheck",
                                      "certificate": raw["certificate"],
                                      "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": far}]
        self._add_application(app)
        app_id = raw["appId"].lower()
        if "deviceCode" in raw:
            self._add_public_client(app_id, raw)
        if raw.get("federatedIdentityCredentials"):
            self.directory.federated[app_id] = [
                FederatedCredential(f.get("name", f"credential-{i}"), f["issuer"], f["subject"],
                                    tuple(f.get("audiences", ["api://AzureADTokenExchange"])))
                for i, f in enumerate(raw["federatedIdentityCredentials"], start=1)]
        for tenant_ref in raw.get("grants", {}):
            tenant_id = self.tenant_id(tenant_ref)
            sp = self._service_principal(tenant_id, derived_id("reader-sp", tenant_id, raw["appId"]),
                                         app_id, raw["displayName"], self.tenant_id(raw["home"]),
                                         "AzureADMultipleOrgs")
            self.sp_refs[(tenant_id, raw["ref"])] = sp

    def _add_public_client(self, app_id: str, raw: dict[str, Any]) -> None:
        """A device code reader: a public client app (isFallbackPublicClient), admins who approve per tenant."""
        self.directory.applications[app_id]["isFallbackPublicClient"] = True
        settings = raw["deviceCode"]
        users = {self.tenant_id(ref): upn for ref, upn in settings.get("users", {}).items()}
        for tenant_ref in raw.get("grants", {}):
            tenant_id = self.tenant_id(tenant_ref)
            if tenant_id not in users:
                tenant = self.directory.tenants[tenant_id]
                initial = next((d["id"] for d in tenant.domains if d.get("isInitial")), tenant.verified_domains()[0])
                users[tenant_id] = f"admin@{initial}"
        self.directory.public_clients[app_id] = PublicClient(
            tuple(sorted(users.items())), settings.get("approveAfterPolls"), int(settings.get("interval", 5)),
            int(settings.get("expiresIn", 900)))

    def _add_managed_identity(self, raw: dict[str, Any]) -> None:
        """A managed identity: no app registration, one service principal (ManagedIdentity) in its home tenant."""
        home = self.tenant_id(raw["home"])
        elsewhere = sorted(set(raw.get("grants", {})) - {raw["home"]})
        if elsewhere:
            raise ValueError(f"reader {raw['ref']!r}: a managed identity lives in its home tenant {raw['home']!r} "
                             f"only; it cannot hold roles in {', '.join(elsewhere)}")
        system = raw["managedIdentity"] == "system"
        if system and self.directory.system_assigned_identity() is not None:
            raise ValueError(f"reader {raw['ref']!r}: the machine has one system-assigned managed identity already")
        app_id = raw["appId"].lower()
        sp = self._service_principal(home, derived_id("managed-identity-sp", app_id), app_id, raw["displayName"],
                                     firstparty.MICROSOFT_TENANT, "AzureADMyOrg", sp_type="ManagedIdentity")
        self.sp_refs[(home, raw["ref"])] = sp
        self.directory.managed_identities[app_id] = ManagedIdentity(app_id, home, system)

    def _grant_reader(self, raw: dict[str, Any]) -> None:
        for tenant_ref, grants in raw.get("grants", {}).items():
            if "deviceCode" in raw:
                self._consent_delegated(raw, tenant_ref, grants)
                continue
            for grant in grants:
                resource, role = reader_grant(grant)
                self._add_assignment({"tenant": tenant_ref, "principal": raw["ref"], "resource": resource,
                                      "appRole": role, "createdDateTime": "2025-01-01T00:00:00Z"})

    def _consent_delegated(self, raw: dict[str, Any], tenant_ref: str, grants: list[str]) -> None:
        """A device code reader's grants are delegated permissions, consented by an admin for all users."""
        tenant_id = self.tenant_id(tenant_ref)
        client = self._sp(tenant_id, raw["ref"], "client")
        scopes: dict[str, list[str]] = {}
        for grant in grants:
            resource_key, scope = reader_grant(grant)
            scopes.setdefault(resource_key, []).append(scope)
        for resource_key, names in sorted(scopes.items()):
            resource = self._sp(tenant_id, resource_key, "resource")
            self.directory.delegated_grants[tenant_id].append({
                "id": derived_id("oauth2-permission-grant", tenant_id, client["id"], resource["id"]),
                "clientId": client["id"], "consentType": "AllPrincipals", "principalId": None,
                "resourceId": resource["id"], "scope": " ".join(names),
            })

    def _add_service_principal(self, raw: dict[str, Any]) -> None:
        tenant_id = self.tenant_id(raw["tenant"])
        app_id = raw["appId"].lower()
        app = self.directory.application(app_id) or {}
        secrets = self.directory.sp_secrets[(tenant_id, app_id)] = _secrets(raw)
        sp = self._service_principal(
            tenant_id, raw["id"].lower(), app_id, raw.get("displayName", app.get("displayName", "")),
            raw.get("appOwnerOrganizationId", self.directory.app_home.get(app_id, tenant_id)).lower(),
            app.get("signInAudience", "AzureADMultipleOrgs"), enabled=raw.get("accountEnabled", True),
            sp_type=raw.get("servicePrincipalType", "Application"),
            role_required=raw.get("appRoleAssignmentRequired", False),
            passwords=password_credentials(raw.get("passwordCredentials", []), secrets),
            disabled_by_microsoft=raw.get("disabledByMicrosoftStatus"),
        )
        self.sp_refs[(tenant_id, raw["ref"])] = sp

    def _service_principal(self, tenant_id: str, object_id: str, app_id: str, name: str, owner: str,
                           audience: str, *, enabled: bool = True, sp_type: str = "Application",
                           role_required: bool = False, app_roles: Iterable[dict[str, Any]] = (),
                           passwords: Iterable[dict[str, Any]] = (),
                           disabled_by_microsoft: str | None = None) -> dict[str, Any]:
        sp = service_principal_object(object_id, app_id, name, owner, audience, enabled=enabled, sp_type=sp_type,
                                      role_required=role_required, app_roles=app_roles, passwords=passwords,
                                      disabled_by_microsoft=disabled_by_microsoft)
        self.directory.service_principals[tenant_id].append(sp)
        return sp

    def _add_assignment(self, raw: dict[str, Any]) -> None:
        tenant_id = self.tenant_id(raw["tenant"])
        principal = self._sp(tenant_id, raw["principal"], "principal")
        resource = self._sp(tenant_id, raw["resource"], "resource")
        wanted = raw["appRole"]
        role = next((r for r in resource.get("appRoles", []) if wanted in (r["value"], r["id"])), None)
        role_id = role["id"] if role else wanted.lower()
        created = raw.get("createdDateTime", "2025-01-01T00:00:00Z")
        self.directory.assignments[tenant_id].append({
            "id": derived_id("assignment", tenant_id, principal["id"], resource["id"], role_id),
            "deletedDateTime": None, "appRoleId": role_id, "createdDateTime": created,
            "principalDisplayName": principal["displayName"], "principalId": principal["id"],
            "principalType": "ServicePrincipal", "resourceDisplayName": resource["displayName"],
            "resourceId": resource["id"],
        })

    def _sp(self, tenant_id: str, ref: str, role: str) -> dict[str, Any]:
        sp = self.sp_refs.get((tenant_id, ref))
        if sp is None:
            raise ValueError(f"appRoleAssignment {role} {ref!r}: no such service principal in that tenant")
        return sp


def reader_grant(grant: str) -> tuple[str, str]:
    """A reader's grant as (resource key, role): "exchange:Exchange.ManageAsApp", or a bare Graph role."""
    prefix, colon, role = grant.partition(":")
    if not colon:
        return "graph", grant
    if prefix not in firstparty.RESOURCES:
        raise ValueError(f"reader grant {grant!r}: unknown resource {prefix!r}; use "
                         f"{', '.join(sorted(firstparty.RESOURCES))} (or no prefix for Microsoft Graph)")
    return prefix, role


def _secrets(raw: dict[str, Any]) -> list[Secret]:
    """The client secrets of an application's or a service principal's passwordCredentials."""
    return [Secret(p["keyId"].lower(), p["secret"], _time(p["startDateTime"]), parse_time(p.get("endDateTime")))
            for p in raw.get("passwordCredentials", [])]


def _time(value: str) -> dt.datetime:
    moment = parse_time(value)
    assert moment is not None
    return moment


def build_directory(scenario: dict[str, Any]) -> Directory:
    return _Builder(scenario).build()
