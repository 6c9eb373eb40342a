"""How each kind of reader identity signs in (settings.CREDENTIAL_KINDS), behind one small interface: acquire a token
for a resource, or forget one a service refused."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msal

from .. import redact
from ..errors import AuthError, InputError
from ..files import SECRET_LIMIT, read_text, shown
from ..settings import Credential
from ..text import one_line, visible
from .msalhttp import MsalHttpClient

# Plain http is allowed to these hosts only, and only for the managed identity endpoint: the instance metadata
# service's link-local address, and this machine (App Service's and Azure Arc's local identity endpoints).
_IDENTITY_HTTP_HOSTS = frozenset({"169.254.169.254", "localhost", "127.0.0.1", "::1"})
_REFRESH_MARGIN = 300  # seconds: a token with less life than this is renewed, as msal does


class Unavailable(Exception):
    """A sign-in could not start: the message says what the operator should do."""


class SignIn(Protocol):
    endpoint: str  # where this kind of sign-in goes, for "cannot reach ..." messages

    def acquire(self, resource: str) -> dict[str, Any]: ...

    def forget(self, token: str) -> None: ...


def forget_token(cache: msal.TokenCache, token: str) -> None:
    """Drop an access token a service refused from msal's cache, so the next request for it signs in again."""
    for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, query={"secret": token})):
        cache.remove_at(entry)


class Confidential:
    """App-only: client credentials with a secret, a certificate or a federated token as the client assertion."""

    def __init__(self, app: msal.ConfidentialClientApplication, endpoint: str) -> None:
        self._app = app
        self.endpoint = endpoint

    def acquire(self, resource: str) -> dict[str, Any]:
        result: dict[str, Any] = self._app.acquire_token_for_client([f"{resource}/.default"])
        return result

    def forget(self, token: str) -> None:
        forget_token(self._app.token_cache, token)


class DeviceCode:
    """Delegated: the first token of this identity needs the admin at a browser; the rest come silently."""

    def __init__(self, app: msal.PublicClientApplication, endpoint: str, prompt: Callable[[str], None],
                 interactive: threading.Lock) -> None:
        self._app = app
        self._prompt = prompt
        self._interactive = interactive
        self.endpoint = endpoint
        self._prompted = False  # an identity prompts the admin once per run, whatever the login service answers
        # Entra answers a `.default` request with the scopes it granted, and msal files the token under those, so
        # msal's cache never finds it again by `.default`: keep each resource's token here until near its expiry.
        self._tokens: dict[str, tuple[dict[str, Any], float]] = {}

    def acquire(self, resource: str) -> dict[str, Any]:
        kept = self._tokens.get(resource)
        if kept is not None and kept[1] - time.time() > _REFRESH_MARGIN:
            return kept[0]
        result = self._sign_in(resource)
        if "access_token" in result:
            self._tokens[resource] = (result, time.time() + float(result.get("expires_in", 0)))
        return result

    def forget(self, token: str) -> None:
        self._tokens = {r: kept for r, kept in self._tokens.items() if kept[0].get("access_token") != token}
        forget_token(self._app.token_cache, token)

    def _sign_in(self, resource: str) -> dict[str, Any]:
        scopes = [f"{resource}/.default"]  # the delegated permissions consented for this client on the resource
        for account in self._app.get_accounts():
            silent: dict[str, Any] | None = self._app.acquire_token_silent_with_error(scopes, account)
            if silent:
                return silent
        with self._interactive:
            if self._prompted:  # the sign-in gave no refresh for this resource: a second prompt would not either
                return {"error": "interaction_required", "error_description": (
                    f"the admin's sign-in gave no token for {resource} without a second prompt, and xtcheck prompts "
                    "once per identity; grant the app's delegated permissions on it (with admin consent) and run "
                    "again")}
            flow: dict[str, Any] = self._app.initiate_device_flow(scopes)
            if "user_code" not in flow:
                return flow  # the login service's error
            self._prompted = True
            self._prompt(one_line(visible(str(flow["message"]))))  # the login service's words, on one visible line
            result: dict[str, Any] = self._app.acquire_token_by_device_flow(flow)
        return result


class Managed:
    """The managed identity of the machine xtcheck runs on; msal chooses the endpoint from the environment."""

    endpoint = "the managed identity endpoint"

    def __init__(self, client: msal.ManagedIdentityClient, cache: msal.TokenCache) -> None:
        self._client = client
        self._cache = cache

    def forget(self, token: str) -> None:
        forget_token(self._cache, token)

    def acquire(self, resource: str) -> dict[str, Any]:
        if msal.managed_identity.get_managed_identity_source() is msal.managed_identity.SERVICE_FABRIC:
            raise Unavailable("Service Fabric's managed identity endpoint is pinned to a certificate thumbprint, "
                               "which xtcheck's HTTP client does not do; give this credential another kind")
        result: dict[str, Any] = self._client.acquire_token_for_client(resource=resource)
        return result


class IdentityEndpointOnly:
    """msal's http_client for a managed identity: plain http goes to 169.254.169.254 or this machine, nowhere else
    (the requests still pass the read-only guard and land in the request log: they are GETs)."""

    def __init__(self, inner: MsalHttpClient) -> None:
        self._inner = inner

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> httpx.Response:
        allowed_identity_url(url)
        return self._inner.get(url, params=params, headers=headers, **kwargs)

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:
        allowed_identity_url(url)
        return self._inner.post(url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        self._inner.close()


def allowed_identity_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _IDENTITY_HTTP_HOSTS):
        return
    raise Unavailable(f"refused to ask {parts.scheme}://{parts.netloc} for a managed identity token: without TLS "
                       "only the instance metadata service (169.254.169.254) and this machine are trusted")


def client_credential(credential: Credential) -> Any:
    if credential.certificate is not None:
        return credential.certificate.msal_credential()
    if credential.federated_token_file is not None:
        return {"client_assertion": federated_assertion(credential.federated_token_file)}
    return credential.secret.reveal() if credential.secret else None


def federated_assertion(path: Path) -> Callable[[], str]:
    """msal calls this at every sign-in: CI and Kubernetes replace the token before it expires."""

    def read() -> str:
        try:  # the same bounded reader as at load: a regular file, at most SECRET_LIMIT
            text = read_text(path, "federated token file", SECRET_LIMIT).strip()
        except InputError as exc:
            raise Unavailable(str(exc)) from None
        if not text:
            raise Unavailable(f"the federated token file {shown(path)} is empty")
        redact.remember(text)
        return text

    return read


def check_managed_identity(token: str, credential: Credential) -> None:
    """A managed identity lives in one tenant: a token from it is useless for another, so say so plainly."""
    claims = claims_of(token)
    tenant = str(claims.get("tid", "")).lower()
    if tenant and tenant != credential.tenant_id:
        raise AuthError(f"the managed identity belongs to tenant {tenant}, not {credential.tenant_id}: a managed "
                        f"identity only gets tokens for its own tenant; give {credential.key} another way to sign in",
                        tenant=credential.tenant_id, client_id=credential.client_id)
    app = str(claims.get("appid") or claims.get("azp") or "").lower()
    if credential.client_id and app and app != credential.client_id:
        raise AuthError(f"the managed identity that answered is {app}, not {credential.client_id}; name the "
                        "user-assigned identity under managed_identity: {client_id: ...}",
                        tenant=credential.tenant_id, client_id=credential.client_id)


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, read without verifying it (best effort: Microsoft may make tokens opaque). The payload
    segment decoded by hand: a JWT library would put PyJWT and cryptography on every sign-in's path for nothing."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:  # not base64url, not UTF-8, not JSON
        return {}
    return claims if isinstance(claims, dict) else {}


def granted(token: str) -> tuple[str, ...]:
    """The roles and scopes a token carries."""
    claims = claims_of(token)
    roles = [str(r) for r in claims.get("roles", [])]
    return tuple(sorted(roles + str(claims.get("scp", "")).split()))
