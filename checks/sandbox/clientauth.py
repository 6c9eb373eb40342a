"""How a client proves itself at Entra's token endpoint: a client secret, a certificate's or a federated assertion."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jwt

from .aadsts import AuthFailure
from .directory import Directory, Tenant
from .httpd import Request
from .identity import IdentityProviders

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DISABLED_BY_MICROSOFT = "DisabledDueToViolationOfServicesAgreement"


@dataclass
class ClientAuth:
    """Checks a client's registration and credentials against the directory; refusals are AuthFailures."""

    directory: Directory
    providers: IdentityProviders

    def client(self, tenant: Tenant, app_id: str) -> dict[str, Any]:
        """The client's enabled service principal in `tenant`: the app must be known there, and neither the app
        nor its service principal disabled (by an admin, or by Microsoft for a violation of its agreement)."""
        app = self.directory.application(app_id)
        home = self.directory.app_home.get(app_id)
        if app is None or (home != tenant.id and app["signInAudience"] == "AzureADMyOrg"):
            raise AuthFailure(700016, app=app_id, tenant=tenant.id)
        sp = self.directory.service_principal(tenant.id, app_id)
        if sp is None:
            raise AuthFailure(7000229, app=app_id, tenant=tenant.id)
        suspended = DISABLED_BY_MICROSOFT in (app.get("disabledByMicrosoftStatus"), sp["disabledByMicrosoftStatus"])
        if not sp["accountEnabled"] or suspended:
            raise AuthFailure(7000112, app=app_id, name=sp["displayName"])
        if any(k.get("type") == "Symmetric" and k.get("usage") == "Sign" for k in app.get("keyCredentials", [])):
            raise AuthFailure(50000)  # v2 tokens must be signed by a certificate
        return sp

    def authenticate(self, request: Request, form: dict[str, str], app_id: str, tenant_id: str) -> int:
        """1 when a client secret proved the caller (one of the application's, or of its service principal in
        `tenant_id`), 2 for a certificate; AuthFailure otherwise."""
        now = dt.datetime.now(dt.UTC)
        if "client_secret" in form:
            secrets = self.directory.client_secrets(tenant_id, app_id)
            matching = [s for s in secrets if s.value == form["client_secret"]]
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
