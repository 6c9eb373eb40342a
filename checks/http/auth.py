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
from collections.abc import Callable
from typing import Any

import httpx
import msal

from .. import redact
from ..errors import AuthError, WriteRefused
from ..settings import Credential, Secret, Settings
from ..text import one_line, visible
from .answers import RejectedAnswer
from .client import Http
from .signin import (
    Confidential,
    DeviceCode,
    IdentityEndpointOnly,
    Managed,
    SignIn,
    Unavailable,
    check_managed_identity,
    claims_of,
    client_credential,
    granted,
)

_AADSTS = re.compile(r"AADSTS(\d+)")
TRANSIENT_CODES = frozenset({90006, 90024, 90033})  # Entra's "try again later" answers (50000 and 50196 are not:
# Microsoft documents configuration and client causes for them, so EXO-003 judges them)


class Tokens:
    """Acquires tokens; caches live in memory for this run only. Safe to share between threads: one sign-in per
    identity at a time, so a device code prompt shows once per identity even when reads run in parallel."""

    def __init__(self, settings: Settings, http: Http, *, prompt: Callable[[str], None] | None = None) -> None:
        self._settings = settings
        self.http = http
        self._prompt = prompt or _to_stderr
        self._clients: dict[tuple[str, ...], SignIn] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self._interactive = threading.Lock()  # one device code prompt at a time: the admin answers them in turn
        # msal's http_cache, shared by every app built here: an authority's discovery (the tenant's OIDC document,
        # and instance discovery in Microsoft's clouds) is read once per run, not once per identity. msal caches
        # only public answers in it: GETs that succeeded, and token POSTs refused with 400 (60 s) or throttled;
        # those are keyed by the form's hash (client id, scope, secret or assertion included) or by client id and
        # scope, so one app's refusal is never another app's answer. Each app wraps the dict with a lock of its
        # own; a write lost to a race between two apps is only a cache miss (msal reads through its index).
        self._http_cache: dict[str, Any] = {}
        self._discovering: dict[str, threading.Lock] = {}  # tenant (its authority) -> held while an app is built
        self.carried: dict[str, tuple[str, ...]] = {}  # what each reader token granted, for the attestation
        self.live_carried: dict[str, tuple[str, ...]] = {}  # what the sync app's own token granted (EXO-003)
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
        """The reader identity's token for `resource`; with `refused` (a token the service answered 401 to: expired
        or revoked mid-run), that token is forgotten first, so this is a new sign-in rather than the cached token.
        What it carries goes into the attestation."""
        resource = resource.rstrip("/")
        token = self._acquire(credential, resource, refused)
        self.carried[f"{_who(credential)} in {credential.tenant_id} for {resource}"] = granted(token)
        return token

    def _acquire(self, credential: Credential, resource: str, refused: str | None = None) -> str:
        """One sign-in at a time per identity and resource: tokens for other resources (500 Dataverse environments
        of an estate) are asked for at once; a device code identity stays one prompt at a time."""
        who = _who(credential)
        key = _key(credential)
        with self._lock((*key, "" if credential.device_code else resource)):
            client = self._client(key if credential.device_code else (*key, resource), credential)
            if refused:
                client.forget(refused)
            try:
                result = client.acquire(resource)
            except RejectedAnswer as exc:  # not data, too large or too slow: the message says which
                raise AuthError(f"sign-in of {who} to tenant {credential.tenant_id} failed: {exc}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
            except httpx.TransportError as exc:
                raise AuthError(f"cannot reach {_target(exc, client.endpoint)}: {describe_transport(exc)}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
            except msal.exceptions.MsalServiceError as exc:
                raise AuthError(f"the login service failed: {exc}", tenant=credential.tenant_id) from None
            except (Unavailable, WriteRefused, msal.managed_identity.ManagedIdentityError) as exc:
                raise AuthError(f"sign-in of {who} to tenant {credential.tenant_id} could not start: {exc}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
            except ValueError as exc:  # msal: an answer it could not read (not JSON, a discovery document without keys)
                raise AuthError(f"sign-in of {who} to tenant {credential.tenant_id} failed: {exc}",
                                tenant=credential.tenant_id, client_id=credential.client_id) from None
        if "access_token" not in result:
            raise auth_error(result, credential.tenant_id, who)
        token: str = result["access_token"]
        redact.remember_token(token)  # whatever echoes it back is redacted, in every output
        if credential.managed_identity is not None:
            check_managed_identity(token, credential)
        return token

    def live_probe(self, client_id: str, tenant_id: str, secret: str, resource: str) -> dict[str, Any]:
        """Sign in as the sync app itself (its own secret), as Dynamics would: the claims, or the AADSTS answer.

        A refusal is data here (it is what EXO-003 judges); only an unreachable login host raises."""
        redact.remember(secret)
        probe = Credential("app.secret", tenant_id.lower(), client_id.lower(), Secret(secret))
        try:
            token = self._acquire(probe, resource.rstrip("/"))  # the app's token, not a reader's: attested apart
        except AuthError as exc:
            if exc.code is None or exc.code in TRANSIENT_CODES:  # an outage, not a refusal: EXO-003 cannot decide
                raise
            return {"acquired": False, "code": exc.code, "error": str(exc)}
        claims = claims_of(token)
        self.live_carried[f"app {client_id} in {tenant_id} for {resource.rstrip('/')}"] = granted(token)
        keep = ("aud", "tid", "appid", "azp", "oid", "roles", "idtyp", "appidacr", "azpacr", "ver", "exp")
        return {"acquired": True, "claims": {k: claims[k] for k in keep if k in claims}}

    def _lock(self, key: tuple[str, ...]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _client(self, key: tuple[str, ...], credential: Credential) -> SignIn:
        """The msal client for `key`: an identity, and for all but a device code identity one resource. A token
        cache per resource, because msal searches its cache entry by entry before each sign-in: one cache holding
        the tokens of an estate's 500 environments made 500 sign-ins cost 500 x 500 comparisons. The device code
        identity keeps one client, so the admin is asked once and its refresh token serves the other resources."""
        if key not in self._clients:
            with self._authority_lock(credential.tenant_id):  # a second identity there waits, then reads the cache
                if key not in self._clients:  # (or another resource's sign-in of this identity built it meanwhile)
                    self._clients[key] = self._build(credential)
        return self._clients[key]

    def _authority_lock(self, tenant_id: str) -> threading.Lock:
        with self._guard:
            return self._discovering.setdefault(tenant_id, threading.Lock())

    def _build(self, credential: Credential) -> SignIn:
        cloud = self._settings.cloud
        if credential.managed_identity is not None:
            identity: Any = (msal.UserAssignedManagedIdentity(client_id=credential.managed_identity.client_id)
                             if credential.managed_identity.client_id else msal.SystemAssignedManagedIdentity())
            http = IdentityEndpointOnly(self.http.msal())
            cache = msal.TokenCache()
            return Managed(msal.ManagedIdentityClient(identity, http_client=http, token_cache=cache), cache)
        options: dict[str, Any] = {
            "authority": f"{cloud.login}/{credential.tenant_id}", "http_client": self.http.msal(),
            "instance_discovery": cloud.name != "custom", "token_cache": msal.TokenCache(),
            "http_cache": self._http_cache,
        }
        try:
            if credential.device_code:
                app = msal.PublicClientApplication(credential.client_id, **options)
                return DeviceCode(app, cloud.login, lambda message: self._prompt(
                    f"xtcheck: sign in to tenant {credential.tenant_id} for {credential.key}: {message}"),
                    self._interactive)
            return Confidential(msal.ConfidentialClientApplication(
                credential.client_id, client_credential=client_credential(credential), azure_region=False,
                **options), cloud.login)
        except ValueError as exc:
            cause = str(exc.__context__ or exc)
            code = _AADSTS.search(cause)
            raise AuthError(f"tenant {credential.tenant_id} was not found at {cloud.login} "
                            f"({'AADSTS' + code.group(1) if code else cause}); check the tenant id and the cloud",
                            code=int(code.group(1)) if code else None, tenant=credential.tenant_id) from None
        except RejectedAnswer as exc:
            raise AuthError(f"sign-in to tenant {credential.tenant_id} could not start: {exc}",
                            tenant=credential.tenant_id) from None
        except httpx.TransportError as exc:
            raise AuthError(f"cannot reach {cloud.login}: {describe_transport(exc)}",
                            tenant=credential.tenant_id) from None
        except msal.exceptions.MsalServiceError as exc:  # discovery answered 5xx while msal set up the client
            raise AuthError(f"the login service at {cloud.login} failed: {exc}", tenant=credential.tenant_id) from None


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
    """The device code prompt: stderr, so stdout stays the report (a pipe to a file or another tool). One line of
    visible characters that starts with `xtcheck: `: the login service's text can never start a line of its own."""
    sys.stderr.write(f"{one_line(visible(message))}\n")  # one write: prompts from two threads never share a line
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
