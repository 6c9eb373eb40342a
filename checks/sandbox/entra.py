"""Entra ID per tenant: OIDC discovery, JWKS and the token endpoint, with real AADSTS errors.

Grants: client credentials (a client secret, a certificate's client assertion, or a federated token from an external
identity provider as the client assertion), the device code flow (its /devicecode endpoint, polling, approval by a
test or by the scenario) and the refresh token grant that gives a signed-in admin tokens for other resources."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jwt

from . import firstparty
from .aadsts import AuthFailure, error_response
from .directory import Directory, Tenant
from .httpd import Request, Response
from .identity import IdentityProviders, Signer
from .tokens import TokenIssuer

_TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
_DEVICE_CODE_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/devicecode$")
_DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
_USER_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "01IO")
_OIDC_PATH = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
_KEYS_PATH = re.compile(r"^/([^/]+)/discovery/v2\.0/keys$")
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# National clouds: what discovery on the public host reports for a tenant that lives elsewhere.
_NATIONAL = {
    "usgov": ("microsoftonline.us", "USGov", "DODCON", "graph.microsoft.us"),
    "usgov-dod": ("microsoftonline.us", "USGov", "DOD", "dod-graph.microsoft.us"),
}

@dataclass
class DeviceFlow:
    """One device code sign-in, from /devicecode until a token is issued (or it expires)."""

    device_code: str
    user_code: str
    tenant_id: str
    client_id: str
    scope: str
    expires_at: float
    polls: int = 0
    user: str | None = None  # who approved it (a user principal name)


@dataclass(frozen=True)
class _Session:
    """What a refresh token stands for: a user signed in to a tenant through a client."""

    tenant_id: str
    client_id: str
    user: str


@dataclass
class Login:
    """The login origin; `resources` maps a resource URI (lower case, no trailing slash) to its key."""

    directory: Directory
    issuer: TokenIssuer
    origin: str = ""
    resources: dict[str, str] | None = None
    name: str = "login"
    providers: IdentityProviders = field(default_factory=IdentityProviders)
    _flows: dict[str, DeviceFlow] = field(default_factory=dict)  # device code -> flow
    issued_device_codes: list[str] = field(default_factory=list)  # every device code handed out (for tests)
    _sessions: dict[str, _Session] = field(default_factory=dict)  # refresh token -> session
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- Service protocol ---------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        """GET; the token POST; the device code POST (it starts a sign-in, it changes no directory object)."""
        if request.method in ("GET", "HEAD"):
            return True
        return request.method == "POST" and (_TOKEN_PATH.match(request.path) is not None
                                             or _DEVICE_CODE_PATH.match(request.path) is not None)

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
        for pattern, answer in ((_TOKEN_PATH, self._token), (_DEVICE_CODE_PATH, self._device_authorization)):
            if match := pattern.match(path):
                try:
                    return answer(request, match.group(1))
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
        grant = form.get("grant_type", "")
        app_id = form.get("client_id", "").strip().lower()
        if grant not in ("client_credentials", _DEVICE_CODE_GRANT, "refresh_token"):
            raise AuthFailure(70003, grant=grant)
        if not app_id:
            raise AuthFailure(900144, parameter="client_id")
        if grant == _DEVICE_CODE_GRANT:
            return self._device_code_token(request, tenant, app_id, form)
        if grant == "refresh_token":
            return self._refresh(request, tenant, app_id, form)
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

    def app_token(self, tenant: Tenant, app_id: str, resource: str, *, credential_type: int) -> str:
        """An app-only token for a client that proved itself elsewhere (a managed identity's endpoint)."""
        sp = self.directory.service_principal(tenant.id, app_id)
        if sp is None:
            raise AuthFailure(7000229, app=app_id, tenant=tenant.id)
        resource_key, audience = self._resource(tenant, f"{resource.rstrip('/')}/.default")
        return self.issuer.mint(
            issuer=f"{self.origin}/{tenant.id}/v2.0", tenant_id=tenant.id, audience=audience, app_id=app_id,
            object_id=sp["id"], credential_type=credential_type,
            roles=self.directory.granted_roles(tenant.id, app_id, firstparty.RESOURCES[resource_key].app_id))

    # -- device code --------------------------------------------------------------------------------

    def _device_authorization(self, request: Request, key: str) -> Response:
        tenant = self.directory.tenant(key)
        if tenant is None or tenant.cloud != "public":
            raise AuthFailure(90002, tenant=key)
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        app_id = form.get("client_id", "").strip().lower()
        if not app_id:
            raise AuthFailure(900144, parameter="client_id")
        if self.directory.application(app_id) is None:
            raise AuthFailure(700016, app=app_id, tenant=tenant.id)
        if not form.get("scope"):
            raise AuthFailure(900144, parameter="scope")
        self._delegated_resource(tenant, form["scope"])  # an unknown resource is refused now, as Entra does
        client = self.directory.public_clients.get(app_id)
        interval, lifetime = (client.interval, client.expires_in) if client else (5, 900)
        flow = DeviceFlow(secrets.token_urlsafe(96), "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
                          tenant.id, app_id, form["scope"], time.time() + lifetime)
        with self._lock:
            self._flows[flow.device_code] = flow
            self.issued_device_codes.append(flow.device_code)
        uri = f"{self.origin}/devicelogin"
        return Response.json(200, {
            "user_code": flow.user_code, "device_code": flow.device_code, "verification_uri": uri,
            "expires_in": lifetime, "interval": interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code {flow.user_code} "
                       "to authenticate.",
        }, {"Cache-Control": "no-store, no-cache"})

    def approve(self, user_code: str, user: str | None = None) -> DeviceFlow:
        """The admin enters `user_code` at the verification page and signs in as `user` (default: the scenario's
        admin for that tenant)."""
        with self._lock:
            flow = next((f for f in self._flows.values() if f.user_code == user_code.strip().upper()), None)
            if flow is None:
                raise LookupError(f"no pending device code sign-in with the code {user_code!r}")
            flow.user = user or self._default_user(flow.tenant_id, flow.client_id)
            return flow

    def pending_device_codes(self) -> list[str]:
        """The user codes waiting for approval (what an admin would read off the prompt)."""
        with self._lock:
            return [f.user_code for f in self._flows.values() if f.user is None]

    def _default_user(self, tenant_id: str, app_id: str) -> str:
        client = self.directory.public_clients.get(app_id)
        user = client.user_for(tenant_id) if client else None
        if user:
            return user
        tenant = self.directory.tenants[tenant_id]
        return f"admin@{tenant.verified_domains()[0]}"

    def _device_code_token(self, request: Request, tenant: Tenant, app_id: str, form: dict[str, str]) -> Response:
        if "client_secret" in form or "client_assertion" in form:
            self._authenticate(request, form, app_id)
        elif app_id not in self.directory.public_clients:
            raise AuthFailure(7000218)  # a confidential client must prove itself; a public client need not
        with self._lock:
            flow = self._flows.get(form.get("device_code", ""))
            if flow is None or flow.client_id != app_id or flow.tenant_id != tenant.id:
                raise AuthFailure(70018)
            if time.time() >= flow.expires_at:
                del self._flows[flow.device_code]
                raise AuthFailure(70019)
            flow.polls += 1
            client = self.directory.public_clients.get(app_id)
            if flow.user is None and client and client.approve_after_polls is not None \
                    and flow.polls > client.approve_after_polls:
                flow.user = self._default_user(tenant.id, app_id)
            if flow.user is None:
                raise AuthFailure(70016)
            del self._flows[flow.device_code]
        return self._delegated(tenant, app_id, flow.scope, flow.user)

    def _refresh(self, request: Request, tenant: Tenant, app_id: str, form: dict[str, str]) -> Response:
        if "client_secret" in form or "client_assertion" in form:
            self._authenticate(request, form, app_id)
        with self._lock:
            session = self._sessions.get(form.get("refresh_token", ""))
        if session is None or session.client_id != app_id or session.tenant_id != tenant.id:
            raise AuthFailure(9002313)
        return self._delegated(tenant, app_id, form.get("scope", ""), session.user)

    def _delegated(self, tenant: Tenant, app_id: str, scope: str, user: str) -> Response:
        """Tokens for a signed-in user: the access token carries the delegated permissions consented to the client
        on the resource (`scp`), an ID token names the user, a refresh token gets tokens for other resources."""
        resource_key, audience = self._delegated_resource(tenant, scope)
        resource_app = firstparty.RESOURCES[resource_key].app_id
        application = self.directory.application(app_id)
        if application is None or (self.directory.app_home.get(app_id) != tenant.id
                                   and application["signInAudience"] == "AzureADMyOrg"):
            raise AuthFailure(700016, app=app_id, tenant=tenant.id)
        scopes = self.directory.granted_scopes(tenant.id, app_id, resource_app)
        if not scopes:
            raise AuthFailure(65001, app=app_id, name=application["displayName"])
        if not isinstance(self.issuer, Signer):
            raise TypeError("the sandbox's login service needs a Signer to issue user tokens")
        issuer = f"{self.origin}/{tenant.id}/v2.0"
        user_id = self.directory.user_id(tenant.id, user)
        refresh = secrets.token_urlsafe(64)
        with self._lock:
            self._sessions[refresh] = _Session(tenant.id, app_id, user)
        info = base64.urlsafe_b64encode(json.dumps({"uid": user_id, "utid": tenant.id}).encode()).decode()
        granted = scopes if resource_key == "graph" else [f"{audience.rstrip('/')}/{s}" for s in scopes]
        return Response.json(200, {
            "token_type": "Bearer", "scope": " ".join([*granted, "openid", "profile", "email"]),
            "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": self.issuer.mint_delegated(
                issuer=issuer, tenant_id=tenant.id, audience=audience, app_id=app_id, user_id=user_id,
                user_principal_name=user, scopes=scopes),
            "refresh_token": refresh,
            "id_token": self.issuer.mint_id_token(issuer=issuer, tenant_id=tenant.id, app_id=app_id,
                                                  user_id=user_id, user_principal_name=user),
            "client_info": info.rstrip("="),
        }, {"Cache-Control": "no-store, no-cache"})

    def _delegated_resource(self, tenant: Tenant, scope: str) -> tuple[str, str]:
        """The one resource a user sign-in asks for: `<resource>/.default` beside OpenID Connect's own scopes."""
        wanted = [s for s in scope.split() if s not in _OIDC_SCOPES]
        if len(wanted) != 1 or not wanted[0].endswith("/.default"):
            raise AuthFailure(70011, scope=" ".join(wanted) or "''")
        return self._resource(tenant, wanted[0])

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
            assertion = form["client_assertion"]
            claimed_issuer = str(_unverified(assertion).get("iss", ""))
            if claimed_issuer and claimed_issuer.lower() != app_id:  # not the app's own: an external provider's
                self._verify_federated(assertion, app_id, now)
            else:
                self._verify_assertion(assertion, app_id, f"{request.origin}{request.path}", now)
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

    def _verify_federated(self, assertion: str, app_id: str, now: dt.datetime) -> None:
        """Workload identity federation: the assertion's iss, sub and aud must match a federated credential of the
        app, and the issuer's key must verify it within its lifetime."""
        claims = _unverified(assertion)
        issuer, subject = str(claims.get("iss", "")), str(claims.get("sub", ""))
        raw_audience = claims.get("aud")
        audiences: list[Any] = raw_audience if isinstance(raw_audience, list) else [raw_audience]
        records = [r for r in self.directory.federated.get(app_id, []) if self.providers.url(r.issuer) == issuer]
        if not records:
            raise AuthFailure(700211, issuer=issuer)
        records = [r for r in records if r.subject == subject]
        if not records:
            raise AuthFailure(700213, subject=subject)
        audience = next((a for r in records for a in audiences if a in r.audiences), None)
        if audience is None:
            raise AuthFailure(700212, audience=",".join(str(a) for a in audiences))
        signer = self.providers.known(issuer)
        if signer is None:
            raise AuthFailure(50166, reason=f"The signing keys of issuer '{issuer}' could not be fetched.")
        try:
            jwt.decode(assertion, signer.public_key(), algorithms=["RS256"], audience=audience, issuer=issuer,
                       options={"require": ["exp", "iat", "iss", "sub", "aud"]})
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError):
            raise AuthFailure(700024, now=_stamp(now.timestamp()), start=_stamp(claims.get("nbf", claims.get("iat"))),
                              end=_stamp(claims.get("exp"))) from None
        except jwt.PyJWTError as exc:
            raise AuthFailure(700027, reason=f"The federated assertion did not validate: {exc}.") from None

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
        return error_response(request, self.origin, code, status_override, **values)


def _unverified(assertion: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def _stamp(seconds: Any) -> str:
    try:
        moment = dt.datetime.fromtimestamp(float(seconds), dt.UTC)
    except (TypeError, ValueError):
        return "unknown"
    return moment.strftime("%m/%d/%Y %H:%M:%S")
