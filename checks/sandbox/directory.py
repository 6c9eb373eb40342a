"""The sandbox's Entra directory: tenants, apps, service principals, consents, users, policies and their lookups."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from .graphusers import UserStore
from .pki import Certificate

_NS = uuid.UUID("6f1d3c4e-8a58-4d0a-9a57-3f0f5c1b2d70")  # namespace for ids the sandbox derives


def derived_id(*parts: str) -> str:
    """A stable GUID for an object the scenario implies but does not spell out."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


@dataclass(frozen=True)
class Tenant:
    id: str
    ref: str
    display_name: str
    region: str
    cloud: str
    domains: tuple[dict[str, Any], ...]
    services: frozenset[str]
    # Exchange Online's organization config (Get-OrganizationConfig): the EWS switches, every key present.
    exchange_organization: dict[str, Any] = field(default_factory=dict, compare=False)

    def verified_domains(self) -> list[str]:
        return [d["id"] for d in self.domains if d.get("isVerified", True)]


@dataclass(frozen=True)
class Secret:
    key_id: str
    value: str
    start: dt.datetime
    end: dt.datetime | None

    def valid_at(self, moment: dt.datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class AppCertificate:
    key_id: str
    certificate: Certificate
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential of an app registration: tokens of `issuer` about `subject` sign it in."""

    name: str
    issuer: str  # a sandbox identity provider's name (served on the identity origin) or an issuer URL
    subject: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class PublicClient:
    """A reader that signs in with a device code: who approves it in each tenant, and whether the sandbox approves
    by itself after some polls (None: a test approves with `Sandbox.approve_device_code`)."""

    users: tuple[tuple[str, str], ...]  # (tenant id, user principal name)
    approve_after_polls: int | None
    interval: int  # seconds between polls the login service asks for
    expires_in: int = 900  # seconds a device code stays valid

    def user_for(self, tenant_id: str) -> str | None:
        return dict(self.users).get(tenant_id)


@dataclass(frozen=True)
class ManagedIdentity:
    """A managed identity of the machine the audit runs on: a service principal in its one tenant, no app."""

    app_id: str  # its client id
    tenant_id: str
    system_assigned: bool


@dataclass
class Directory:
    """Everything Entra knows. Graph objects are kept in their wire shape (v1.0 property names)."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)  # appId -> application
    app_home: dict[str, str] = field(default_factory=dict)  # appId -> home tenant id
    secrets: dict[str, list[Secret]] = field(default_factory=dict)  # appId -> secrets
    certificates: dict[str, list[AppCertificate]] = field(default_factory=dict)  # appId -> certificates
    named_certificates: dict[str, Certificate] = field(default_factory=dict)
    service_principals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tenant id -> SPs
    assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tenant id -> assignments
    # tenant id -> oauth2PermissionGrants (delegated permissions consented for every user, in the v1.0 shape)
    delegated_grants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    federated: dict[str, list[FederatedCredential]] = field(default_factory=dict)  # appId -> credentials
    public_clients: dict[str, PublicClient] = field(default_factory=dict)  # appId -> device code settings
    managed_identities: dict[str, ManagedIdentity] = field(default_factory=dict)  # client id -> identity
    # (tenant id, appId) -> secrets on the service principal (servicePrincipal.passwordCredentials)
    sp_secrets: dict[tuple[str, str], list[Secret]] = field(default_factory=dict)
    users: dict[str, UserStore] = field(default_factory=dict)  # tenant id -> users
    policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tenant id -> Conditional Access

    # -- lookups -------------------------------------------------------------------------------------

    def tenant(self, key: str) -> Tenant | None:
        """A tenant by GUID (any case) or by one of its verified domains."""
        lowered = key.strip().lower()
        if lowered in self.tenants:
            return self.tenants[lowered]
        for tenant in self.tenants.values():
            if lowered in (d.lower() for d in tenant.verified_domains()):
                return tenant
        return None

    def application(self, app_id: str) -> dict[str, Any] | None:
        return self.applications.get(app_id.lower())

    def client_secrets(self, tenant_id: str, app_id: str) -> list[Secret]:
        """Secrets that sign the app in to `tenant_id`: the application's, then its service principal's there."""
        return [*self.secrets.get(app_id, []), *self.sp_secrets.get((tenant_id, app_id), [])]

    def service_principal(self, tenant_id: str, app_id: str) -> dict[str, Any] | None:
        lowered = app_id.lower()
        return next((sp for sp in self.service_principals.get(tenant_id, []) if sp["appId"] == lowered), None)

    def service_principal_by_id(self, tenant_id: str, object_id: str) -> dict[str, Any] | None:
        lowered = object_id.lower()
        return next((sp for sp in self.service_principals.get(tenant_id, []) if sp["id"] == lowered), None)

    def granted_roles(self, tenant_id: str, client_app_id: str, resource_app_id: str) -> list[str]:
        """Values of the app roles consented to the client on the resource, as a token's `roles` claim."""
        client = self.service_principal(tenant_id, client_app_id)
        resource = self.service_principal(tenant_id, resource_app_id)
        if client is None or resource is None:
            return []
        by_id = {role["id"]: role["value"] for role in resource.get("appRoles", [])}
        return sorted({
            by_id[a["appRoleId"]]
            for a in self.assignments.get(tenant_id, [])
            if a["principalId"] == client["id"] and a["resourceId"] == resource["id"] and a["appRoleId"] in by_id
        })

    def granted_scopes(self, tenant_id: str, client_app_id: str, resource_app_id: str) -> list[str]:
        """The delegated permissions consented to the client on the resource, as a token's `scp` claim."""
        client = self.service_principal(tenant_id, client_app_id)
        resource = self.service_principal(tenant_id, resource_app_id)
        if client is None or resource is None:
            return []
        return sorted({scope for g in self.delegated_grants.get(tenant_id, [])
                       if g["clientId"] == client["id"] and g["resourceId"] == resource["id"]
                       for scope in g["scope"].split()})

    def user_id(self, tenant_id: str, user_principal_name: str) -> str:
        """The object id of a user who signs in: the scenario's user of that name, else a derived, stable id."""
        store = self.users.get(tenant_id)
        found = store.candidates("userPrincipalName", user_principal_name) if store is not None else None
        return str(found[0]["id"]) if found else derived_id("user", tenant_id, user_principal_name.lower())

    def system_assigned_identity(self) -> ManagedIdentity | None:
        return next((m for m in self.managed_identities.values() if m.system_assigned), None)
