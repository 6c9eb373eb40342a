"""Tokens for a signed-in user: the delegated access token, ID token and refresh token, and what refresh tokens mean."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field

from . import firstparty
from .aadsts import AuthFailure
from .directory import Directory, Tenant
from .httpd import Response
from .identity import Signer
from .tokens import TokenIssuer


@dataclass(frozen=True)
class Session:
    """What a refresh token stands for: a user signed in to a tenant through a client."""

    tenant_id: str
    client_id: str
    user: str


@dataclass
class UserTokens:
    """Issues a user's tokens and remembers the session behind each refresh token; thread-safe."""

    directory: Directory
    issuer: TokenIssuer
    _sessions: dict[str, Session] = field(default_factory=dict)  # refresh token -> session
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self, refresh_token: str) -> Session | None:
        with self._lock:
            return self._sessions.get(refresh_token)

    def issue(self, origin: str, tenant: Tenant, app_id: str, resource: tuple[str, str], user: str) -> Response:
        """Tokens for `user` on `resource` (key, audience): the access token carries the delegated permissions
        consented to the client on the resource (`scp`), an ID token names the user, a refresh token gets tokens
        for other resources."""
        resource_key, audience = resource
        scopes = self._consented_scopes(tenant, app_id, firstparty.RESOURCES[resource_key].app_id)
        if not isinstance(self.issuer, Signer):
            raise TypeError("the sandbox's login service needs a Signer to issue user tokens")
        issuer = f"{origin}/{tenant.id}/v2.0"
        user_id = self.directory.user_id(tenant.id, user)
        refresh = secrets.token_urlsafe(64)
        with self._lock:
            self._sessions[refresh] = Session(tenant.id, app_id, user)
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

    def _consented_scopes(self, tenant: Tenant, app_id: str, resource_app: str) -> list[str]:
        """The delegated permissions an admin consented to the client on the resource; AuthFailure for none."""
        application = self.directory.application(app_id)
        if application is None or (self.directory.app_home.get(app_id) != tenant.id
                                   and application["signInAudience"] == "AzureADMyOrg"):
            raise AuthFailure(700016, app=app_id, tenant=tenant.id)
        scopes = self.directory.granted_scopes(tenant.id, app_id, resource_app)
        if not scopes:
            raise AuthFailure(65001, app=app_id, name=application["displayName"])
        return scopes
