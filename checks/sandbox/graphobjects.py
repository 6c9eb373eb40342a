"""Graph v1.0 resource shapes: application and servicePrincipal objects as kept, domains and organization as derived."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from .directory import AppCertificate, Secret, Tenant

_COUNTRIES = {"WW": "US", "NA": "US", "US": "US", "EU": "DE", "UK": "GB", "GB": "GB", "FR": "FR", "DE": "DE",
              "AU": "AU", "JP": "JP", "CA": "CA", "IN": "IN", "APAC": "SG", "ASIA": "SG"}


def country_code(tenant: Tenant) -> str:
    """The tenant's country (organization.countryLetterCode, its users' usageLocation) from its region."""
    return _COUNTRIES.get(tenant.region.upper(), "US")


def password_credentials(raws: Iterable[Mapping[str, Any]], secrets: list[Secret]) -> list[dict[str, Any]]:
    """The v1.0 `passwordCredential` collection of an application or a service principal: hints, never values."""
    return [{
        "customKeyIdentifier": None, "displayName": p.get("displayName"), "endDateTime": p.get("endDateTime"),
        "hint": s.value[:3], "keyId": s.key_id, "secretText": None, "startDateTime": p["startDateTime"],
    } for p, s in zip(raws, secrets, strict=True)]


def application_object(raw: dict[str, Any], secrets: list[Secret], certs: list[AppCertificate]) -> dict[str, Any]:
    """The v1.0 `application` resource as Graph returns it (secret values never, hints only)."""
    passwords = password_credentials(raw.get("passwordCredentials", []), secrets)
    keys = [{
        # Edm.Binary: the thumbprint's bytes, base64 in JSON.
        "customKeyIdentifier": base64.b64encode(bytes.fromhex(c.certificate.sha1_thumbprint)).decode(),
        "displayName": k.get("displayName", f"CN={k['certificate']}"),
        "endDateTime": k["endDateTime"], "key": None, "keyId": c.key_id, "startDateTime": k["startDateTime"],
        "type": "AsymmetricX509Cert", "usage": "Verify",
    } for k, c in zip(raw.get("keyCredentials", []), certs, strict=True)]
    if raw.get("symmetricSigningKey"):  # what AADSTS50000's troubleshooting article tells admins to look for
        keys.append({"customKeyIdentifier": None, "displayName": "legacy signing key", "endDateTime": None,
                     "key": None, "keyId": "0b7c1c2e-7d1f-4c3e-9a55-5f0f3d3a9e21", "startDateTime": None,
                     "type": "Symmetric", "usage": "Sign"})
    return {
        "id": raw["id"].lower(), "deletedDateTime": None, "appId": raw["appId"].lower(),
        "applicationTemplateId": None, "disabledByMicrosoftStatus": raw.get("disabledByMicrosoftStatus"),
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


def service_principal_object(object_id: str, app_id: str, name: str, owner: str, audience: str, *,
                             enabled: bool = True, sp_type: str = "Application", role_required: bool = False,
                             app_roles: Iterable[dict[str, Any]] = (), passwords: Iterable[dict[str, Any]] = (),
                             disabled_by_microsoft: str | None = None) -> dict[str, Any]:
    """The v1.0 `servicePrincipal` resource as Graph returns it (`passwords` shaped by password_credentials)."""
    return {
        "id": object_id, "deletedDateTime": None, "accountEnabled": enabled, "appDisplayName": name,
        "appDescription": None, "appId": app_id, "appOwnerOrganizationId": owner,
        "appRoleAssignmentRequired": role_required, "displayName": name, "description": None,
        "homepage": None, "loginUrl": None, "logoutUrl": None, "notes": None, "notificationEmailAddresses": [],
        "preferredSingleSignOnMode": None, "replyUrls": [], "servicePrincipalNames": [app_id],
        "servicePrincipalType": sp_type, "signInAudience": audience, "tags": [],
        "appRoles": list(app_roles), "oauth2PermissionScopes": [], "keyCredentials": [],
        "passwordCredentials": list(passwords), "alternativeNames": [], "info": None, "verifiedPublisher": {
            "displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "addIns": [], "disabledByMicrosoftStatus": disabled_by_microsoft, "preferredTokenSigningKeyThumbprint": None,
        "resourceSpecificApplicationPermissions": [], "tokenEncryptionKeyId": None,
    }


def domain_object(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The v1.0 `domain` resource for one of the tenant's domains as the scenario declares it."""
    verified = bool(raw.get("isVerified", True))
    return {
        "authenticationType": raw.get("authenticationType", "Managed"), "availabilityStatus": None,
        "id": raw["id"], "isAdminManaged": True, "isDefault": bool(raw.get("isDefault", False)),
        "isInitial": bool(raw.get("isInitial", False)), "isRoot": True, "isVerified": verified,
        "manufacturer": None, "model": None, "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"] if verified else [], "state": None,
    }


def _verified_domain(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": bool(raw.get("isDefault", False)), "isInitial": bool(raw.get("isInitial", False)),
            "name": raw["id"],
            "type": raw.get("authenticationType", "Managed")}


def organization_object(tenant: Tenant) -> dict[str, Any]:
    """The v1.0 `organization` resource of a tenant."""
    return {
        "id": tenant.id, "deletedDateTime": None, "businessPhones": [], "city": None, "country": None,
        "countryLetterCode": country_code(tenant),
        "createdDateTime": "2018-03-01T00:00:00Z",
        "defaultUsageLocation": None, "displayName": tenant.display_name,
        "isMultipleDataLocationsForServicesEnabled": None, "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": None, "onPremisesSyncEnabled": None, "partnerTenantType": None,
        "postalCode": None, "preferredLanguage": "en", "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [], "state": None, "street": None,
        "technicalNotificationMails": [], "tenantType": "AAD",
        "directorySizeQuota": {"used": 0, "total": 300000},
        "assignedPlans": [], "privacyProfile": None, "provisionedPlans": [],
        "verifiedDomains": [_verified_domain(d) for d in tenant.domains if d.get("isVerified", True)],
    }
