"""The device code flow's sign-ins: started at /devicecode, polled at the token endpoint, approved by an admin."""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field

from .aadsts import AuthFailure
from .directory import Directory
from .httpd import Response

_USER_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "01IO")


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


@dataclass
class DeviceFlows:
    """The device code sign-ins in progress, thread-safe; who approves them is the scenario's public client setting."""

    directory: Directory
    issued: list[str] = field(default_factory=list)  # every device code handed out (for tests)
    _flows: dict[str, DeviceFlow] = field(default_factory=dict)  # device code -> flow
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, tenant_id: str, app_id: str, scope: str, verification_uri: str) -> Response:
        """A new sign-in: /devicecode's answer with the user code an admin enters at `verification_uri`."""
        client = self.directory.public_clients.get(app_id)
        interval, lifetime = (client.interval, client.expires_in) if client else (5, 900)
        flow = DeviceFlow(secrets.token_urlsafe(96), "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9)),
                          tenant_id, app_id, scope, time.time() + lifetime)
        with self._lock:
            self._flows[flow.device_code] = flow
            self.issued.append(flow.device_code)
        return Response.json(200, {
            "user_code": flow.user_code, "device_code": flow.device_code, "verification_uri": verification_uri,
            "expires_in": lifetime, "interval": interval,
            "message": f"To sign in, use a web browser to open the page {verification_uri} and enter the code "
                       f"{flow.user_code} to authenticate.",
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

    def pending(self) -> list[str]:
        """The user codes waiting for approval (what an admin would read off the prompt)."""
        with self._lock:
            return [f.user_code for f in self._flows.values() if f.user is None]

    def redeem(self, device_code: str, tenant_id: str, app_id: str) -> tuple[str, str]:
        """A poll of the token endpoint: the approved sign-in's (scope, user), used up; AuthFailure until then."""
        with self._lock:
            flow = self._flows.get(device_code)
            if flow is None or flow.client_id != app_id or flow.tenant_id != tenant_id:
                raise AuthFailure(70018)
            if time.time() >= flow.expires_at:
                del self._flows[flow.device_code]
                raise AuthFailure(70019)
            flow.polls += 1
            client = self.directory.public_clients.get(app_id)
            if flow.user is None and client and client.approve_after_polls is not None \
                    and flow.polls > client.approve_after_polls:
                flow.user = self._default_user(tenant_id, app_id)
            if flow.user is None:
                raise AuthFailure(70016)
            del self._flows[flow.device_code]
            return flow.scope, flow.user

    def _default_user(self, tenant_id: str, app_id: str) -> str:
        client = self.directory.public_clients.get(app_id)
        user = client.user_for(tenant_id) if client else None
        if user:
            return user
        tenant = self.directory.tenants[tenant_id]
        return f"admin@{tenant.verified_domains()[0]}"
