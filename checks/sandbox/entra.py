"""Entra ID per tenant: OIDC discovery, JWKS and the token endpoint, which routes each grant to its module."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from . import firstparty
from .aadsts import AuthFailure, error_response
from .clientauth import ClientAuth
from .conditionalaccess import blocking_policy
from .deviceflow import DeviceFlows
from .directory import Directory, Tenant
from .httpd import Request, Response
from .identity import IdentityProviders
from .tokens import TokenIssuer
from .usertokens import UserTokens

_TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
_DEVICE_CODE_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/devicecode$")
_DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
_OIDC_PATH = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
_KEYS_PATH = re.compile(r"^/([^/]+)/discovery/v2\.0/keys$")

# National clouds: what discovery on the public host reports for a tenant that lives elsewhere.
_NATIONAL = {
    "usgov": ("microsoftonline.us", "USGov", "DODCON", "graph.microsoft.us"),
    "usgov-dod": ("microsoftonline.us", "USGov", "DOD", "dod-graph.microsoft.us"),
}


@dataclass
class Login:
    """The login origin; `resources` maps a resource URI (lower case, no trailing slash) to its key."""

    directory: Directory
    issuer: TokenIssuer
    origin: str = ""
    resources: dict[str, str] | None = None
    name: str = "login"
    providers: IdentityProviders = field(default_factory=IdentityProviders)
    device_flows: DeviceFlows = field(init=False)  # device code sign-ins (tests approve them here)
    _clients: ClientAuth = field(init=False)
    _users: UserTokens = field(init=False)

    def __post_init__(self) -> None:
        self.device_flows = DeviceFlows(self.directory)
        self._clients = ClientAuth(self.directory, self.providers)
        self._users = UserTokens(self.directory, self.issuer)

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
        return self._client_credentials(request, tenant, app_id, form)

    def _client_credentials(self, request: Request, tenant: Tenant, app_id: str, form: dict[str, str]) -> Response:
        client_sp = self._clients.client(tenant, app_id)
        credential_type = self._clients.authenticate(request, form, app_id, tenant.id)
        resource_key, audience = self._resource(tenant, form.get("scope", ""))
        resource_app = firstparty.RESOURCES[resource_key].app_id
        self._conditional_access(tenant, app_id, client_sp, resource_app)
        token = self.issuer.mint(
            issuer=f"{self.origin}/{tenant.id}/v2.0", tenant_id=tenant.id, audience=audience, app_id=app_id,
            object_id=client_sp["id"], roles=self.directory.granted_roles(tenant.id, app_id, resource_app),
            credential_type=credential_type,
        )
        return Response.json(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                   "access_token": token}, {"Cache-Control": "no-store, no-cache"})

    def _conditional_access(self, tenant: Tenant, app_id: str, sp: dict[str, Any], resource_app: str) -> None:
        """Conditional Access for workload identities: the tenant's policies apply to service principals of apps
        registered in it only (not to managed identities, nor to multitenant apps registered elsewhere)."""
        if self.directory.app_home.get(app_id) != tenant.id or sp["servicePrincipalType"] != "Application":
            return
        if blocking_policy(self.directory.policies.get(tenant.id, []), sp["id"], resource_app) is not None:
            raise AuthFailure(53003)

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

    def _resource(self, tenant: Tenant, scope: str) -> tuple[str, str]:
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise AuthFailure(1002012, scope=scope or "''")
        uri = scopes[0].removesuffix("/.default")
        key = (self.resources or {}).get(uri.rstrip("/").lower())
        if key is None or not firstparty.offered(tenant.services, key):
            raise AuthFailure(500011, resource=uri, tenant=tenant.id)
        return key, uri

    # -- user sign-ins: the device code and refresh token grants --------------------------------------

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
        return self.device_flows.start(tenant.id, app_id, form["scope"], f"{self.origin}/devicelogin")

    def _device_code_token(self, request: Request, tenant: Tenant, app_id: str, form: dict[str, str]) -> Response:
        if "client_secret" in form or "client_assertion" in form:
            self._clients.authenticate(request, form, app_id, tenant.id)
        elif app_id not in self.directory.public_clients:
            raise AuthFailure(7000218)  # a confidential client must prove itself; a public client need not
        scope, user = self.device_flows.redeem(form.get("device_code", ""), tenant.id, app_id)
        return self._delegated(tenant, app_id, scope, user)

    def _refresh(self, request: Request, tenant: Tenant, app_id: str, form: dict[str, str]) -> Response:
        if "client_secret" in form or "client_assertion" in form:
            self._clients.authenticate(request, form, app_id, tenant.id)
        session = self._users.session(form.get("refresh_token", ""))
        if session is None or session.client_id != app_id or session.tenant_id != tenant.id:
            raise AuthFailure(9002313)
        return self._delegated(tenant, app_id, form.get("scope", ""), session.user)

    def _delegated(self, tenant: Tenant, app_id: str, scope: str, user: str) -> Response:
        return self._users.issue(self.origin, tenant, app_id, self._delegated_resource(tenant, scope), user)

    def _delegated_resource(self, tenant: Tenant, scope: str) -> tuple[str, str]:
        """The one resource a user sign-in asks for: `<resource>/.default` beside OpenID Connect's own scopes."""
        wanted = [s for s in scope.split() if s not in _OIDC_SCOPES]
        if len(wanted) != 1 or not wanted[0].endswith("/.default"):
            raise AuthFailure(70011, scope=" ".join(wanted) or "''")
        return self._resource(tenant, wanted[0])

    # -- errors -------------------------------------------------------------------------------------

    def _error(self, request: Request, code: int, status_override: int | None = None, /, **values: str) -> Response:
        return error_response(request, self.origin, code, status_override, **values)
