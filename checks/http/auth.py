"""Tokens for the auditor's identities: one msal confidential client per identity and tenant, errors as AuthError."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jwt
import msal

from ..errors import AuthError
from ..settings import Credential, Secret, Settings
from .client import Http

_AADSTS = re.compile(r"AADSTS(\d+)")


class Tokens:
    """Acquires app-only tokens; caches live in memory for this run only."""

    def __init__(self, settings: Settings, http: Http) -> None:
        self._settings = settings
        self.http = http
        self._apps: dict[tuple[str, str], msal.ConfidentialClientApplication] = {}
        self.carried: dict[str, tuple[str, ...]] = {}  # what each token granted, for the attestation

    def for_tenant(self, tenant_id: str, resource: str) -> str:
        credential = self._settings.credential_for(tenant_id)
        if credential is None:
            raise AuthError(f"no reader identity for tenant {tenant_id}: add one under credentials "
                            f"(tenant_id: {tenant_id}, client_id: ..., client_secret: env:NAME)", tenant=tenant_id)
        return self.token(credential, resource)

    def token(self, credential: Credential, resource: str) -> str:
        app = self._app(credential)
        try:
            result = app.acquire_token_for_client([f"{resource.rstrip('/')}/.default"])
        except httpx.TransportError as exc:
            raise AuthError(f"cannot reach {self._settings.cloud.login}: {describe_transport(exc)}",
                            tenant=credential.tenant_id, client_id=credential.client_id) from None
        except msal.exceptions.MsalServiceError as exc:
            raise AuthError(f"the login service failed: {exc}", tenant=credential.tenant_id) from None
        if "access_token" in result:
            token: str = result["access_token"]
            label = f"{credential.client_id} in {credential.tenant_id} for {resource.rstrip('/')}"
            self.carried[label] = granted(token)
            return token
        raise auth_error(result, credential.tenant_id, credential.client_id)

    def live_probe(self, client_id: str, tenant_id: str, secret: str, resource: str) -> dict[str, Any]:
        """Sign in as the sync app itself (its own secret), as Dynamics would: the claims, or the AADSTS answer.

        A refusal is data here (it is what EXO-003 judges); only an unreachable login host raises."""
        probe = Credential("app.secret", tenant_id.lower(), client_id.lower(), Secret(secret))
        try:
            token = self.token(probe, resource)
        except AuthError as exc:
            if exc.code is None and "cannot reach" in str(exc):
                raise
            return {"acquired": False, "code": exc.code, "error": str(exc)}
        claims = _claims(token)
        self.carried[f"(live probe) app {client_id} in {tenant_id} for {resource.rstrip('/')}"] = granted(token)
        keep = ("aud", "tid", "appid", "azp", "oid", "roles", "idtyp", "appidacr", "azpacr", "ver", "exp")
        return {"acquired": True, "claims": {k: claims[k] for k in keep if k in claims}}

    def _app(self, credential: Credential) -> msal.ConfidentialClientApplication:
        key = (credential.client_id, credential.tenant_id)
        if key not in self._apps:
            self._apps[key] = self._build(credential)
        return self._apps[key]

    def _build(self, credential: Credential) -> msal.ConfidentialClientApplication:
        secret: Any = credential.secret.reveal() if credential.secret else None
        if credential.certificate is not None:
            secret = credential.certificate.msal_credential()
        cloud = self._settings.cloud
        try:
            return msal.ConfidentialClientApplication(
                credential.client_id, client_credential=secret, authority=f"{cloud.login}/{credential.tenant_id}",
                http_client=self.http.msal(), azure_region=False, instance_discovery=cloud.name != "custom",
                token_cache=msal.TokenCache(),
            )
        except ValueError as exc:
            cause = str(exc.__context__ or exc)
            code = _AADSTS.search(cause)
            raise AuthError(f"tenant {credential.tenant_id} was not found at {cloud.login} "
                            f"({'AADSTS' + code.group(1) if code else cause}); check the tenant id and the cloud",
                            code=int(code.group(1)) if code else None, tenant=credential.tenant_id) from None
        except httpx.TransportError as exc:
            raise AuthError(f"cannot reach {cloud.login}: {describe_transport(exc)}",
                            tenant=credential.tenant_id) from None


def _claims(token: str) -> dict[str, Any]:
    """A token's claims, read without verifying it (best effort: Microsoft may make tokens opaque)."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def granted(token: str) -> tuple[str, ...]:
    """The roles and scopes a token carries."""
    claims = _claims(token)
    roles = [str(r) for r in claims.get("roles", [])]
    return tuple(sorted(roles + str(claims.get("scp", "")).split()))


def auth_error(result: dict[str, Any], tenant: str, client_id: str) -> AuthError:
    """msal's error dict as an AuthError that keeps the AADSTS code (error_codes first, text second)."""
    codes = result.get("error_codes") or []
    description = str(result.get("error_description", result.get("error", "unknown error")))
    match = _AADSTS.search(description)
    code = int(codes[0]) if codes else (int(match.group(1)) if match else None)
    first_line = description.split(" Trace ID:", maxsplit=1)[0].split("\r\n", maxsplit=1)[0]
    return AuthError(f"sign-in of {client_id} to tenant {tenant} failed: {first_line}", code=code, tenant=tenant,
                     client_id=client_id)


def describe_transport(exc: httpx.TransportError) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "its TLS certificate is not trusted; if a proxy or private CA sits in between, add it with tls.ca_bundle"
    if isinstance(exc, httpx.ConnectTimeout | httpx.ReadTimeout):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({text or 'refused'})"
    return text or type(exc).__name__
