"""The sandbox's Entra directory: tenants, app registrations, service principals and consents, from a scenario."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import firstparty
from .pki import Certificate, make_app_cert

_NS = uuid.UUID("6f1d3c4e-8a58-4d0a-9a57-3f0f5c1b2d70")  # namespace for ids the sandbox derives
# A tenant nobody touched: EWS follows the default ($null, allowed until Microsoft switches it off), no lists.
EXCHANGE_ORGANIZATION_DEFAULTS: dict[str, Any] = {
    "EwsEnabled": None, "EwsAllowedAppIDs": None, "EwsApplicationAccessPolicy": None,
    "EwsAllowList": None, "EwsBlockList": None,
}


def derived_id(*parts: str) -> str:
    """A stable GUID for an object the scenario implies but does not spell out."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


def parse_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


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
        """The object id of a user who signs in (the sandbox keeps no user objects; ids are derived, stable)."""
        return derived_id("user", tenant_id, user_principal_name.lower())

    def system_assigned_identity(self) -> ManagedIdentity | None:
        return next((m for m in self.managed_identities.values() if m.system_assigned), None)


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
        for key in sorted(services):
            resource = firstparty.RESOURCES[key]
            sp = self._service_principal(tenant_id, derived_id(tenant_id, resource.app_id), resource.app_id,
                                         resource.display_name, firstparty.MICROSOFT_TENANT,
                                         "AzureADMultipleOrgs", app_roles=firstparty.app_roles(resource))
            self.sp_refs[(tenant_id, key)] = sp

    def _add_application(self, raw: dict[str, Any]) -> None:
        app_id = raw["appId"].lower()
        home = self.tenant_id(raw["tenant"])
        secrets = [Secret(p["keyId"].lower(), p["secret"], _time(p["startDateTime"]),
                          parse_time(p.get("endDateTime"))) for p in raw.get("passwordCredentials", [])]
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
        sp = self._service_principal(
            tenant_id, raw["id"].lower(), app_id, raw.get("displayName", app.get("displayName", "")),
            raw.get("appOwnerOrganizationId", self.directory.app_home.get(app_id, tenant_id)).lower(),
            app.get("signInAudience", "AzureADMultipleOrgs"), enabled=raw.get("accountEnabled", True),
            sp_type=raw.get("servicePrincipalType", "Application"),
            role_required=raw.get("appRoleAssignmentRequired", False),
        )
        self.sp_refs[(tenant_id, raw["ref"])] = sp

    def _service_principal(self, tenant_id: str, object_id: str, app_id: str, name: str, owner: str,
                           audience: str, *, enabled: bool = True, sp_type: str = "Application",
                           role_required: bool = False,
                           app_roles: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
        sp: dict[str, Any] = {
            "id": object_id, "deletedDateTime": None, "accountEnabled": enabled, "appDisplayName": name,
            "appDescription": None, "appId": app_id, "appOwnerOrganizationId": owner,
            "appRoleAssignmentRequired": role_required, "displayName": name, "description": None,
            "homepage": None, "loginUrl": None, "logoutUrl": None, "notes": None, "notificationEmailAddresses": [],
            "preferredSingleSignOnMode": None, "replyUrls": [], "servicePrincipalNames": [app_id],
            "servicePrincipalType": sp_type, "signInAudience": audience, "tags": [],
            "appRoles": list(app_roles), "oauth2PermissionScopes": [], "keyCredentials": [],
            "passwordCredentials": [], "alternativeNames": [], "info": None, "verifiedPublisher": {
                "displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
            "addIns": [], "disabledByMicrosoftStatus": None, "preferredTokenSigningKeyThumbprint": None,
            "resourceSpecificApplicationPermissions": [], "tokenEncryptionKeyId": None,
        }
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


def _time(value: str) -> dt.datetime:
    moment = parse_time(value)
    assert moment is not None
    return moment


def application_object(raw: dict[str, Any], secrets: list[Secret], certs: list[AppCertificate]) -> dict[str, Any]:
    """The v1.0 `application` resource as Graph returns it (secret values never, hints only)."""
    passwords = [{
        "customKeyIdentifier": None, "displayName": p.get("displayName"), "endDateTime": p.get("endDateTime"),
        "hint": s.value[:3], "keyId": s.key_id, "secretText": None, "startDateTime": p["startDateTime"],
    } for p, s in zip(raw.get("passwordCredentials", []), secrets, strict=True)]
    keys = [{
        # Edm.Binary: the thumbprint's bytes, base64 in JSON.
        "customKeyIdentifier": base64.b64encode(bytes.fromhex(c.certificate.sha1_thumbprint)).decode(),
        "displayName": k.get("displayName", f"CN={k['certificate']}"),
        "endDateTime": k["endDateTime"], "key": None, "keyId": c.key_id, "startDateTime": k["startDateTime"],
        "type": "AsymmetricX509Cert", "usage": "Verify",
    } for k, c in zip(raw.get("keyCredentials", []), certs, strict=True)]
    return {
        "id": raw["id"].lower(), "deletedDateTime": None, "appId": raw["appId"].lower(),
        "applicationTemplateId": None, "disabledByMicrosoftStatus": None,
        "createdDateTime": raw.get("createdDateTime", "2025-01-01T00:00:00Z"), "displayName": raw["displayName"],
        "description": None, "groupMembershipClaims": None, "identifierUris": [], "isDeviceOnlyAuthSupported": None,
        "isFallbackPublicClient": None, "notes": None, "publisherDomain": raw.get("publisherDomain"),
        "serviceManagementReference": None, "signInAudience": raw["signInAudience"], "tags": [],
        "tokenEncryptionKeyId": None, "uniqueName": None, "keyCredentials": keys, "passwordCredentials": passwords,
        "requiredResourceAccess": [
            {"resourceAppId": r["resourceAppId"].lower(),
             "resourceAccess": [{"id": a["id"].lower(), "type": a["type"]} for a in r["resourceAccess"]]}
            for r in raw.get("requiredResourceAccess", [])
        ],
        "api": {"acceptMappedClaims": None, "knownClientApplications": [], "requestedAccessTokenVersion": None,
                "oauth2PermissionScopes": [], "preAuthorizedApplications": []},
        "appRoles": [], "info": {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None,
                                 "supportUrl": None, "termsOfServiceUrl": None},
        "addIns": [], "optionalClaims": None, "certification": None, "requestSignatureVerification": None,
        "servicePrincipalLockConfiguration": None, "publicClient": {"redirectUris": []}, "spa": {"redirectUris": []},
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "web": {"homePageUrl": None, "logoutUrl": None, "redirectUris": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False}},
    }


def build_directory(scenario: dict[str, Any]) -> Directory:
    return _Builder(scenario).build()
