"""Tokens for the auditor's identities: one msal client per identity and tenant, errors as AuthError.

Each credential signs in one way (settings.CREDENTIAL_KINDS):
- client_secret, certificate: a confidential client, app-only (client credentials);
- federated_token_file: a confidential client whose client assertion is an external identity provider's token
  (GitHub Actions OIDC, a Kubernetes service account), read from its file again at every sign-in;
- device_code: a public client, delegated: an admin signs in once per identity (the prompt goes to stderr, never
  stdout); tokens for the other resources come from that sign-in's refresh token, kept in memory for the run;
- managed_identity: msal's ManagedIdentityClient, which picks the endpoint from the environment (App Service's
  IDENTITY_ENDPOINT and IDENTITY_HEADER, Azure Arc, else the instance metadata service at 169.254.169.254).
  A managed identity only gets tokens for its own tenant; a token for another tenant is refused here.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import jwt
import msal

from .. import redact
from ..errors import AuthError, WriteRefused
from ..settings import Credential, Secret, Settings
from .client import Http
from .msalhttp import MsalHttpClient

_AADSTS = re.compile(r"AADSTS(\d+)")
TRANSIENT_CODES = frozenset({50000, 50196, 90006, 90024, 90033})  # Entra's "try again later" answers
# Plain http is allowed to these hosts only, and only for the managed identity endpoint: the instance metadata
# service's link-local address, and this machine (App Service's and Azure Arc's local identity endpoints).
_IDENTITY_HTTP_HOSTS = frozenset({"169.254.169.254", "localhost", "127.0.0.1", "::1"})
_REFRESH_MARGIN = 300  # seconds: a token with less life than this is renewed, as msal does


class _Unavailable(Exception):
    """A sign-in could not start: the message says what the operator should do."""


class _SignIn(Protocol):
    endpoint: str  # where this kind of sign-in goes, for "cannot reach ..." messages

    def acquire(self, resource: str) -> dict[str, Any]: ...

    def forget(self, token: str) -> None: ...


def _forget(cache: msal.TokenCache, token: str) -> None:
    """Drop an access token a service refused from msal's cache, so the next request for it signs in again."""
    for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, query={"secret": token})):
        cache.remove_at(entry)


class Tokens:
    """Acquires tokens; caches live in memory for this run only. Safe to share between threads: one sign-in per
    identity at a time, so a device code prompt shows once per identity even when reads run in parallel."""

    def __init__(self, settings: Settings, http: Http, *, prompt: Callable[[str], None] | None = None) -> None:
        self._settings = settings
        self.http = http
        self._prompt = prompt or _to_stderr
        self._clients: dict[tuple[str, str, str], _SignIn] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._interactive = threading.Lock()  # one device code prompt at a time: the admin answers them in turn
        self.carried: dict[str, tuple[str, ...]] = {}  # what each token granted, for the attestation
        for secret in (settings.app_secret, *(c.secret for c in settings.credentials)):
            redact.remember(secret.reveal() if secret else None)
        quiet_msal()

    def for_tenant(self, tenant_id: str, resource: str, refused: str | None = None) -> str:
        credential = self._settings.credential_for(tenant_id)
        if credential is None:
            raise AuthError(f"no reader identity for tenant {tenant_id}: add one under credentials "
                            f"(tenant_id: {tenant_id}, client_id: ..., client_secret: env:NAME)", tenant=tenant_id)
        return self.token(credential, resource, refused)

    def token(self, credential: Credential, resource: str, refused: str | None = None) -> str:
        """The identity's token for `resource`; with `refused` (a token the service answered 401 to: expired or
        revoked mid-run), that token is forgotten first, so this is a new sign-in rather than the cached token."""
        resource = resource.rstrip("/")
        who = _who(credential)
        key = _key(credential)
        with self._lock(key):
            client = self._client(key, credential)
            if refused:
                client.forget(refused)
            try:
                result = client.acquire(resource)
            except httpx.TransportError as exc:
                raise AuthError(f"cannot reach {_target(exc, client.endpoint)}: {describe_transport(exc)}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
            except msal.exceptions.MsalServiceError as exc:
                raise AuthError(f"the login service failed: {exc}", tenant=credential.tenant_id) from None
            except (_Unavailable, WriteRefused, msal.managed_identity.ManagedIdentityError) as exc:
                raise AuthError(f"sign-in of {who} to tenant {credential.tenant_id} could not start: {exc}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
            except ValueError as exc:  # msal: an answer it could not read (not JSON, a discovery document without keys)
                raise AuthError(f"sign-in of {who} to tenant {credential.tenant_id} failed: {exc}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
        if "access_token" not in result:
            raise auth_error(result, credential.tenant_id, who)
        token: str = result["access_token"]
        if credential.managed_identity is not None:
            _check_managed_identity(token, credential)
        self.carried[f"{who} in {credential.tenant_id} for {resource}"] = granted(token)
        return token

    def live_probe(self, client_id: str, tenant_id: str, secret: str, resource: str) -> dict[str, Any]:
        """Sign in as the sync app itself (its own secret), as Dynamics would: the claims, or the AADSTS answer.

        A refusal is data here (it is what EXO-003 judges); only an unreachable login host raises."""
        redact.remember(secret)
        probe = Credential("app.secret", tenant_id.lower(), client_id.lower(), Secret(secret))
        try:
            token = self.token(probe, resource)
        except AuthError as exc:
            if exc.code is None or exc.code in TRANSIENT_CODES:  # an outage, not a refusal: EXO-003 cannot decide
                raise
            return {"acquired": False, "code": exc.code, "error": str(exc)}
        claims = _claims(token)
        self.carried[f"(live probe) app {client_id} in {tenant_id} for {resource.rstrip('/')}"] = granted(token)
        keep = ("aud", "tid", "appid", "azp", "oid", "roles", "idtyp", "appidacr", "azpacr", "ver", "exp")
        return {"acquired": True, "claims": {k: claims[k] for k in keep if k in claims}}

    def _lock(self, key: tuple[str, str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _client(self, key: tuple[str, str, str], credential: Credential) -> _SignIn:
        if key not in self._clients:
            self._clients[key] = self._build(credential)
        return self._clients[key]

    def _build(self, credential: Credential) -> _SignIn:
        cloud = self._settings.cloud
        if credential.managed_identity is not None:
            identity: Any = (msal.UserAssignedManagedIdentity(client_id=credential.managed_identity.client_id)
                             if credential.managed_identity.client_id else msal.SystemAssignedManagedIdentity())
            http = _IdentityEndpointOnly(self.http.msal())
            cache = msal.TokenCache()
            return _Managed(msal.ManagedIdentityClient(identity, http_client=http, token_cache=cache), cache)
        options: dict[str, Any] = {
            "authority": f"{cloud.login}/{credential.tenant_id}", "http_client": self.http.msal(),
            "instance_discovery": cloud.name != "custom", "token_cache": msal.TokenCache(),
        }
        try:
            if credential.device_code:
                app = msal.PublicClientApplication(credential.client_id, **options)
                return _DeviceCode(app, cloud.login, lambda message: self._prompt(
                    f"xtcheck: sign in to tenant {credential.tenant_id} for {credential.key}: {message}"),
                    self._interactive)
            return _Confidential(msal.ConfidentialClientApplication(
                credential.client_id, client_credential=_client_credential(credential), azure_region=False,
                **options), cloud.login)
        except ValueError as exc:
            cause = str(exc.__context__ or exc)
            code = _AADSTS.search(cause)
            raise AuthError(f"tenant {credential.tenant_id} was not found at {cloud.login} "
                            f"({'AADSTS' + code.group(1) if code else cause}); check the tenant id and the cloud",
                            code=int(code.group(1)) if code else None, tenant=credential.tenant_id) from None
        except httpx.TransportError as exc:
            raise AuthError(f"cannot reach {cloud.login}: {describe_transport(exc)}",
                            tenant=credential.tenant_id) from None
        except msal.exceptions.MsalServiceError as exc:  # discovery answered 5xx while msal set up the client
            raise AuthError(f"the login service at {cloud.login} failed: {exc}", tenant=credential.tenant_id) from None


class _Confidential:
    """App-only: client credentials with a secret, a certificate or a federated token as the client assertion."""

    def __init__(self, app: msal.ConfidentialClientApplication, endpoint: str) -> None:
        self._app = app
        self.endpoint = endpoint

    def acquire(self, resource: str) -> dict[str, Any]:
        result: dict[str, Any] = self._app.acquire_token_for_client([f"{resource}/.default"])
        return result

    def forget(self, token: str) -> None:
        _forget(self._app.token_cache, token)


class _DeviceCode:
    """Delegated: the first token of this identity needs the admin at a browser; the rest come silently."""

    def __init__(self, app: msal.PublicClientApplication, endpoint: str, prompt: Callable[[str], None],
                 interactive: threading.Lock) -> None:
        self._app = app
        self._prompt = prompt
        self._interactive = interactive
        self.endpoint = endpoint
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
        _forget(self._app.token_cache, token)

    def _sign_in(self, resource: str) -> dict[str, Any]:
        scopes = [f"{resource}/.default"]  # the delegated permissions consented for this client on the resource
        for account in self._app.get_accounts():
            silent: dict[str, Any] | None = self._app.acquire_token_silent_with_error(scopes, account)
            if silent:
                return silent
        with self._interactive:
            flow: dict[str, Any] = self._app.initiate_device_flow(scopes)
            if "user_code" not in flow:
                return flow  # the login service's error
            self._prompt(str(flow["message"]))
            result: dict[str, Any] = self._app.acquire_token_by_device_flow(flow)
        return result


class _Managed:
    """The managed identity of the machine xtcheck runs on; msal chooses the endpoint from the environment."""

    endpoint = "the managed identity endpoint"

    def __init__(self, client: msal.ManagedIdentityClient, cache: msal.TokenCache) -> None:
        self._client = client
        self._cache = cache

    def forget(self, token: str) -> None:
        _forget(self._cache, token)

    def acquire(self, resource: str) -> dict[str, Any]:
        if msal.managed_identity.get_managed_identity_source() is msal.managed_identity.SERVICE_FABRIC:
            raise _Unavailable("Service Fabric's managed identity endpoint is pinned to a certificate thumbprint, "
                               "which xtcheck's HTTP client does not do; give this credential another kind")
        result: dict[str, Any] = self._client.acquire_token_for_client(resource=resource)
        return result


class _IdentityEndpointOnly:
    """msal's http_client for a managed identity: plain http goes to 169.254.169.254 or this machine, nowhere else
    (the requests still pass the read-only guard and land in the request log: they are GETs)."""

    def __init__(self, inner: MsalHttpClient) -> None:
        self._inner = inner

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> httpx.Response:
        _allowed_identity_url(url)
        return self._inner.get(url, params=params, headers=headers, **kwargs)

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:
        _allowed_identity_url(url)
        return self._inner.post(url, params=params, data=data, headers=headers, **kwargs)

    def close(self) -> None:
        self._inner.close()


def _allowed_identity_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _IDENTITY_HTTP_HOSTS):
        return
    raise _Unavailable(f"refused to ask {parts.scheme}://{parts.netloc} for a managed identity token: without TLS "
                       "only the instance metadata service (169.254.169.254) and this machine are trusted")


def _client_credential(credential: Credential) -> Any:
    if credential.certificate is not None:
        return credential.certificate.msal_credential()
    if credential.federated_token_file is not None:
        return {"client_assertion": _federated_assertion(credential.federated_token_file)}
    return credential.secret.reveal() if credential.secret else None


def _federated_assertion(path: Path) -> Callable[[], str]:
    """msal calls this at every sign-in: CI and Kubernetes replace the token before it expires."""

    def read() -> str:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _Unavailable(f"cannot read the federated token file {path}: {exc.strerror}") from None
        if not text:
            raise _Unavailable(f"the federated token file {path} is empty")
        redact.remember(text)
        return text

    return read


def _check_managed_identity(token: str, credential: Credential) -> None:
    """A managed identity lives in one tenant: a token from it is useless for another, so say so plainly."""
    claims = _claims(token)
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


def _key(credential: Credential) -> tuple[str, str, str]:
    return credential.kind, credential.client_id, credential.tenant_id


def _who(credential: Credential) -> str:
    if credential.managed_identity is not None and not credential.client_id:
        return "the system-assigned managed identity"
    return credential.client_id


def _target(exc: httpx.TransportError, fallback: str) -> str:
    try:
        url = exc.request.url
    except RuntimeError:
        return fallback
    return f"{url.scheme}://{url.netloc.decode()}"


def _to_stderr(message: str) -> None:
    """The device code prompt: stderr, so stdout stays the report (a pipe to a file or another tool)."""
    sys.stderr.write(f"{message}\n")  # one write: prompts from two threads never share a line
    sys.stderr.flush()


def quiet_msal() -> None:
    """msal logs a reply it cannot parse with its full text (a token among them) and a traceback; with no handler
    configured Python would print that on stderr. xtcheck reports sign-in failures itself, so msal stays silent.
    Where the host program attached a handler anyway (on msal's loggers, or turned propagation back on), every
    record of msal, httpx and httpcore is redacted on the logger that creates it, before any handler sees it."""
    redact.guard_library_logs()
    logger = logging.getLogger("msal")
    logger.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


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
