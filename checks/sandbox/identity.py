"""Sign-ins beyond client credentials: user-token signing, managed identity endpoints, external identity providers."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .aadsts import AuthFailure, describe
from .directory import Directory, ManagedIdentity, Tenant
from .httpd import Request, Response
from .tokens import TokenIssuer

FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
IDENTITY_HEADER_NAME = "X-IDENTITY-HEADER"
_ISSUER_PATH = re.compile(r"^/issuers/([A-Za-z0-9][A-Za-z0-9_.-]*)(/\.well-known/openid-configuration|/keys)$")


class Signer(TokenIssuer):
    """A TokenIssuer that also signs user tokens, ID tokens and any claims an external identity provider sets."""

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def mint_delegated(self, *, issuer: str, tenant_id: str, audience: str, app_id: str, user_id: str,
                       user_principal_name: str, scopes: list[str], lifetime: int = 3599) -> str:
        """A delegated access token: the signed-in user (`oid`, `upn`) through a public client (`appidacr` 0);
        the consented delegated permissions in `scp`, never `roles`."""
        now = int(time.time())
        return self.sign({
            "aud": audience, "iss": issuer, "iat": now, "nbf": now - 300, "exp": now + lifetime,
            "acr": "1", "aio": uuid.uuid4().hex, "amr": ["pwd", "mfa"], "appid": app_id, "appidacr": "0",
            "azp": app_id, "azpacr": "0", "idtyp": "user", "name": user_principal_name.partition("@")[0],
            "oid": user_id, "preferred_username": user_principal_name, "rh": "0.sandbox.",
            "scp": " ".join(scopes), "sub": uuid.uuid5(uuid.UUID(user_id), app_id).hex, "tid": tenant_id,
            "unique_name": user_principal_name, "upn": user_principal_name, "uti": uuid.uuid4().hex[:22],
            "ver": "2.0",
        })

    def mint_id_token(self, *, issuer: str, tenant_id: str, app_id: str, user_id: str,
                      user_principal_name: str) -> str:
        now = int(time.time())
        return self.sign({
            "aud": app_id, "iss": issuer, "iat": now, "nbf": now, "exp": now + 3600,
            "name": user_principal_name.partition("@")[0], "oid": user_id, "preferred_username": user_principal_name,
            "sub": uuid.uuid5(uuid.UUID(user_id), app_id).hex, "tid": tenant_id, "ver": "2.0",
        })


class IdentityProviders:
    """Throwaway external identity providers, one signing key each, served on the identity origin at
    /issuers/NAME. An issuer that is a URL (https://token.actions.githubusercontent.com) gets a key too: Entra would
    fetch its keys from the internet; the sandbox keeps them here."""

    def __init__(self) -> None:
        self.origin = ""  # the identity origin, set when the sandbox starts
        self._signers: dict[str, Signer] = {}

    def url(self, name_or_url: str) -> str:
        """An issuer URL: a name is one of the sandbox's own providers."""
        return name_or_url if "://" in name_or_url else f"{self.origin}/issuers/{name_or_url}"

    def signer(self, issuer: str) -> Signer:
        return self._signers.setdefault(self.url(issuer), Signer())

    def known(self, issuer_url: str) -> Signer | None:
        return self._signers.get(issuer_url)

    def mint(self, issuer: str, subject: str, *, audience: str = FEDERATION_AUDIENCE, lifetime: int = 600,
             **claims: Any) -> str:
        """A token as the provider issues it to a CI job or a pod (negative lifetime: already expired)."""
        now = int(time.time())
        url = self.url(issuer)
        body = {"iss": url, "sub": subject, "aud": audience, "iat": min(now, now + lifetime - 60),
                "nbf": min(now, now + lifetime - 60), "exp": now + lifetime, "jti": uuid.uuid4().hex, **claims}
        return self.signer(url).sign(body)


class AppTokens(Protocol):
    """What the managed identity endpoint needs of the login service (entra.Login): app-only tokens."""

    def app_token(self, tenant: Tenant, app_id: str, resource: str, *, credential_type: int) -> str:
        """A token for a client that proved itself elsewhere; AuthFailure when Entra would refuse it."""
        ...


class IdentityEndpoint:
    """The identity origin: a managed identity endpoint in App Service's shape (GET /msi/token with the
    X-IDENTITY-HEADER secret; msal uses it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set) and in the instance
    metadata service's shape (GET /metadata/identity/oauth2/token with Metadata: true; msal uses it under
    AZURE_POD_IDENTITY_AUTHORITY_HOST), plus the external identity providers' discovery documents and keys."""

    name = "identity"

    def __init__(self, directory: Directory, login: AppTokens, providers: IdentityProviders) -> None:
        self.directory = directory
        self.login = login
        self.providers = providers
        self.header_secret = secrets.token_hex(16)  # what App Service puts in IDENTITY_HEADER
        self.origin = ""

    # -- Service protocol ---------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        return request.method in ("GET", "HEAD")

    def error_response(self, request: Request, status: int) -> Response:
        if request.path.startswith("/metadata/"):
            return Response.json(status, {"error": "service_unavailable" if status >= 500 else "invalid_request",
                                          "error_description": f"HTTP {status}"})
        return Response.json(status, {"statusCode": status, "message": f"HTTP {status}",
                                      "correlationId": str(uuid.uuid4())})

    def handle(self, request: Request) -> Response:
        if request.path == "/msi/token":
            return self._app_service(request)
        if request.path == "/metadata/identity/oauth2/token":
            return self._imds(request)
        if match := _ISSUER_PATH.match(request.path):
            return self._provider(match.group(1), match.group(2))
        return Response.json(404, {"statusCode": 404, "message": f"No route for {request.path}"})

    # -- managed identity ---------------------------------------------------------------------------

    def _app_service(self, request: Request) -> Response:
        if not secrets.compare_digest(request.header(IDENTITY_HEADER_NAME), self.header_secret):
            return self._app_service_error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
        query = request.query
        if query.get("api-version") != "2019-08-01":
            return self._app_service_error(400, "Invalid api-version; use 2019-08-01.")
        answer = self._issue(query)
        if isinstance(answer, str):
            return self._app_service_error(400, answer)
        token, identity, resource, expires_on = answer
        return Response.json(200, {"access_token": token, "expires_on": str(expires_on), "resource": resource,
                                   "token_type": "Bearer", "client_id": identity.app_id})

    def _imds(self, request: Request) -> Response:
        if request.header("Metadata").lower() != "true":
            return Response.json(400, {"error": "invalid_request",
                                       "error_description": "Required metadata header not specified"})
        answer = self._issue(request.query)
        if isinstance(answer, str):
            return Response.json(400, {"error": "invalid_request", "error_description": answer})
        token, identity, resource, expires_on = answer
        now = int(time.time())
        return Response.json(200, {
            "access_token": token, "client_id": identity.app_id, "expires_in": str(expires_on - now),
            "expires_on": str(expires_on), "ext_expires_in": str(expires_on - now), "not_before": str(now),
            "resource": resource, "token_type": "Bearer"})

    def _issue(self, query: dict[str, str]) -> tuple[str, ManagedIdentity, str, int] | str:
        """A token for the selected identity (client_id: a user-assigned one; none: the system-assigned one), or
        why there is none."""
        if "object_id" in query or "mi_res_id" in query or "msi_res_id" in query:
            return "The sandbox selects user-assigned identities by client_id only."
        client_id = query.get("client_id", "").lower()
        identity = (self.directory.managed_identities.get(client_id) if client_id
                    else self.directory.system_assigned_identity())
        if identity is None:
            return (f"No managed identity with client id {client_id} is assigned to this resource." if client_id
                    else "No system-assigned managed identity is enabled on this resource.")
        resource = query.get("resource", "")
        if not resource:
            return "The resource parameter is required."
        tenant = self.directory.tenants[identity.tenant_id]
        try:
            token = self.login.app_token(tenant, identity.app_id, resource, credential_type=2)
        except AuthFailure as failure:
            return describe(failure)
        return token, identity, resource, int(time.time()) + 3599

    def _app_service_error(self, status: int, message: str) -> Response:
        return Response.json(status, {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())})

    # -- external identity providers ----------------------------------------------------------------

    def _provider(self, name: str, what: str) -> Response:
        url = self.providers.url(name)
        signer = self.providers.known(url)
        if signer is None:
            return Response.json(404, {"error": "not_found", "error_description": f"No identity provider {name}"})
        if what == "/keys":
            return Response.json(200, signer.jwks())
        return Response.json(200, {
            "issuer": url, "jwks_uri": f"{url}/keys", "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"], "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"],
            "scopes_supported": ["openid"],
        })
