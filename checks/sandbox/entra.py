"""Entra ID per tenant: OIDC discovery, JWKS and the client-credentials token endpoint, with real AADSTS errors."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import jwt

from . import firstparty
from .directory import Directory, Tenant
from .httpd import Request, Response
from .tokens import TokenIssuer

_TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
_OIDC_PATH = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
_KEYS_PATH = re.compile(r"^/([^/]+)/discovery/v2\.0/keys$")
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# National clouds: what discovery on the public host reports for a tenant that lives elsewhere.
_NATIONAL = {
    "usgov": ("microsoftonline.us", "USGov", "DODCON", "graph.microsoft.us"),
    "usgov-dod": ("microsoftonline.us", "USGov", "DOD", "dod-graph.microsoft.us"),
}

# code -> (error, HTTP status, description template). Wording follows what Entra answers.
AADSTS: dict[int, tuple[str, int, str]] = {
    90002: ("invalid_tenant", 400,
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud. Check with your subscription administrator, this may happen if there are "
            "no active subscriptions for the tenant."),
    700016: ("unauthorized_client", 400,
             "Application with identifier '{app}' was not found in the directory '{tenant}'. This can happen if "
             "the application has not been installed by the administrator of the tenant or consented to by any "
             "user in the tenant. You may have sent your authentication request to the wrong tenant."),
    7000229: ("invalid_client", 400,
              "The client application {app} is missing service principal in the tenant {tenant}. See "
              "instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"),
    7000112: ("unauthorized_client", 400, "Application '{app}'({name}) is disabled."),
    7000218: ("invalid_client", 401,
              "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
    7000215: ("invalid_client", 401,
              "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
              "value, not the client secret ID, for a secret added to app '{app}'."),
    7000222: ("invalid_client", 401,
              "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to create "
              "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials "
              "for added security: https://aka.ms/certCreds."),
    700027: ("invalid_client", 401, "Client assertion failed signature validation. [Reason - {reason}]"),
    500011: ("invalid_resource", 400,
             "The resource principal named {resource} was not found in the tenant named {tenant}. This can "
             "happen if the application has not been installed by the administrator of the tenant or consented "
             "to by any user in the tenant. You might have sent your authentication request to the wrong tenant."),
    900144: ("invalid_request", 400, "The request body must contain the following parameter: '{parameter}'."),
    70003: ("unsupported_grant_type", 400, "The app requested an unsupported grant type '{grant}'."),
    1002012: ("invalid_scope", 400,
              "The provided value for scope {scope} is not valid. Client credential flows must have a scope "
              "value with /.default suffixed to the resource identifier (application ID URI)."),
    900561: ("invalid_request", 405, "The endpoint only accepts {allowed} requests. Received a {method} request."),
    90033: ("temporarily_unavailable", 503, "A transient error has occurred. Please try again."),
    50196: ("temporarily_unavailable", 429, "The server terminated an operation because it encountered a loop "
            "while processing a request."),
}


class AuthFailure(Exception):
    def __init__(self, code: int, **values: str) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@dataclass
class Login:
    """The login origin; `resources` maps a resource URI (lower case, no trailing slash) to its key."""

    directory: Directory
    issuer: TokenIssuer
    origin: str = ""
    resources: dict[str, str] | None = None
    name: str = "login"

    # -- Service protocol ---------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        if request.method in ("GET", "HEAD"):
            return True
        return request.method == "POST" and _TOKEN_PATH.match(request.path) is not None

    def error_response(self, request: Request, status: int) -> Response:
        code = {405: 900561, 429: 50196}.get(status, 90033)
        values = {"allowed": "POST, OPTIONS" if "token" in request.path else "GET", "method": request.method}
        return self._error(request, code, status, **values)

    def handle(self, request: Request) -> Response:
        path = request.path
        if match := _OIDC_PATH.match(path):
            return self._discovery(request, match.group(1))
        if match := _KEYS_PATH.match(path):
            return Response.json(200, self.issuer.jwks())
        if match := _TOKEN_PATH.match(path):
            try:
                return self._token(request, match.group(1))
            except AuthFailure as failure:
                return self._error(request, failure.code, **failure.values)
        if path == "/error":
            code = request.query.get("code", "")
            return Response(200, f"<html><body>AADSTS{code}</body></html>".encode(), {"Content-Type": "text/html"})
        return Response.json(404, {"error": "not_found", "error_description": f"No route for {path}"})

    # -- discovery ----------------------------------------------------------------------------------

    def _discovery(self, request: Request, key: str) -> Response:
        tenant = self.directory.tenant(key)
        if tenant is None or tenant.cloud == "china":
            return self._error(request, 90002, tenant=key)
        base = f"{self.origin}/{tenant.id}"
        instance, region, sub_scope, graph_host = _NATIONAL.get(
            tenant.cloud, ("microsoftonline.com", tenant.region, None, "graph.microsoft.com"))
        document: dict[str, Any] = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.origin}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": region,
            "cloud_instance_name": instance,
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": graph_host,
            "rbac_url": "https://pas.windows.net",
        }
        if sub_scope:
            document["tenant_region_sub_scope"] = sub_scope
        return Response.json(200, document, {"Cache-Control": "max-age=86400, private"})

    # -- token --------------------------------------------------------------------------------------

    def _token(self, request: Request, key: str) -> Response:
        tenant = self.directory.tenant(key)
        if tenant is None or tenant.cloud != "public":
            raise AuthFailure(90002, tenant=key)
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            raise AuthFailure(70003, grant=form.get("grant_type", ""))
        app_id = form.get("client_id", "").strip().lower()
        if not app_id:
            raise AuthFailure(900144, parameter="client_id")
        client_sp = self._client(tenant, app_id)
        credential_type = self._authenticate(request, form, app_id)
        resource_key, audience = self._resource(tenant, form.get("scope", ""))
        resource_app = firstparty.RESOURCES[resource_key].app_id
        token = self.issuer.mint(
            issuer=f"{self.origin}/{tenant.id}/v2.0", tenant_id=tenant.id, audience=audience, app_id=app_id,
            object_id=client_sp["id"], roles=self.directory.granted_roles(tenant.id, app_id, resource_app),
            credential_type=credential_type,
        )
        return Response.json(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                   "access_token": token}, {"Cache-Control": "no-store, no-cache"})

    def _client(self, tenant: Tenant, app_id: str) -> dict[str, Any]:
        app = self.directory.application(app_id)
        home = self.directory.app_home.get(app_id)
        if app is None or (home != tenant.id and app["signInAudience"] == "AzureADMyOrg"):
            raise AuthFailure(700016, app=app_id, tenant=tenant.id)
        sp = self.directory.service_principal(tenant.id, app_id)
        if sp is None:
            raise AuthFailure(7000229, app=app_id, tenant=tenant.id)
        if not sp["accountEnabled"]:
            raise AuthFailure(7000112, app=app_id, name=sp["displayName"])
        return sp

    def _authenticate(self, request: Request, form: dict[str, str], app_id: str) -> int:
        """1 when a client secret proved the caller, 2 for a certificate; AuthFailure otherwise."""
        now = dt.datetime.now(dt.UTC)
        if "client_secret" in form:
            matching = [s for s in self.directory.secrets.get(app_id, []) if s.value == form["client_secret"]]
            if not matching:
                raise AuthFailure(7000215, app=app_id)
            if not any(s.valid_at(now) for s in matching):
                raise AuthFailure(7000222, app=app_id)
            return 1
        if form.get("client_assertion_type") == _ASSERTION_TYPE and form.get("client_assertion"):
            self._verify_assertion(form["client_assertion"], app_id, f"{request.origin}{request.path}", now)
            return 2
        raise AuthFailure(7000218)

    def _verify_assertion(self, assertion: str, app_id: str, endpoint: str, now: dt.datetime) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise AuthFailure(700027, reason="The client assertion is not a well-formed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in ("RS256", "PS256"):
            raise AuthFailure(700027, reason=f"Unsupported signing algorithm {algorithm!r}.")
        # msal pads its thumbprints with "="; Entra compares the thumbprint, not its spelling.
        wanted = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
        for credential in self.directory.certificates.get(app_id, []):
            cert = credential.certificate
            if wanted not in (cert.x5t, cert.x5t_s256):
                continue
            if not credential.start <= now < credential.end:
                raise AuthFailure(700027, reason="The key used to sign the assertion has expired.")
            try:
                claims = jwt.decode(assertion, cert.key.public_key(), algorithms=[algorithm], audience=endpoint,
                                    issuer=app_id, options={"require": ["exp", "aud", "iss", "sub"]})
            except jwt.PyJWTError as exc:
                raise AuthFailure(700027, reason=f"The assertion did not validate: {exc}.") from None
            if str(claims.get("sub", "")).lower() != app_id:
                raise AuthFailure(700027, reason="The assertion's sub is not the client id.")
            return
        raise AuthFailure(700027, reason=f"The key was not found., Thumbprint of key used by client: '{wanted}'")

    def _resource(self, tenant: Tenant, scope: str) -> tuple[str, str]:
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AuthFailure(1002012, scope=scope or "''")
        uri = scopes[0].removesuffix("/.default")
        key = (self.resources or {}).get(uri.rstrip("/").lower())
        if key is None or key not in tenant.services:
            raise AuthFailure(500011, resource=uri, tenant=tenant.id)
        return key, uri

    # -- errors -------------------------------------------------------------------------------------

    def _error(self, request: Request, code: int, status_override: int | None = None, /, **values: str) -> Response:
        error, status, template = AADSTS[code]
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = str(uuid.uuid4())
        correlation_id = request.header("client-request-id") or str(uuid.uuid4())
        text = template.format_map(_Blank(values))
        body = {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace_id} Correlation ID: {correlation_id} "
                                 f"Timestamp: {now}",
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.origin}/error?code={code}",
        }
        return Response.json(status_override or status, body, {"x-ms-request-id": trace_id})


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
