"""Access tokens the sandbox issues: RS256 JWTs signed by a throwaway key, published as a JWKS."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .pki import new_key


@dataclass(frozen=True)
class Rejection:
    """Why a bearer token was refused, in the words the services use."""

    reason: str  # "missing", "malformed", "signature", "expired", "audience"
    message: str


class TokenIssuer:
    def __init__(self, key: rsa.RSAPrivateKey | None = None) -> None:
        self._key = key or new_key()
        self.kid = uuid.uuid4().hex

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def mint(self, *, issuer: str, tenant_id: str, audience: str, app_id: str, object_id: str,
             roles: list[str], credential_type: int, lifetime: int = 3599, not_before_skew: int = 300) -> str:
        """An app-only access token; `roles` is left out when empty, as Entra does."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience, "iss": issuer, "iat": now, "nbf": now - not_before_skew, "exp": now + lifetime,
            "aio": uuid.uuid4().hex, "appid": app_id, "appidacr": str(credential_type), "azp": app_id,
            "azpacr": str(credential_type), "idp": issuer, "idtyp": "app", "oid": object_id,
            "rh": "0.sandbox.", "sub": object_id, "tid": tenant_id, "uti": uuid.uuid4().hex[:22], "ver": "2.0",
        }
        if roles:
            claims["roles"] = roles
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def validate(self, authorization: str, audiences: set[str]) -> dict[str, Any] | Rejection:
        """The claims of a valid bearer token for one of `audiences`, or why it is refused."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Rejection("missing", "Access token is empty.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(), self._key.public_key(), algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "iat", "aud", "tid"]}, leeway=0,
            )
        except jwt.ExpiredSignatureError:
            return Rejection("expired", "Lifetime validation failed, the token is expired.")
        except jwt.InvalidSignatureError:
            return Rejection("signature", "Access token validation failure. Invalid signature.")
        except jwt.PyJWTError:
            return Rejection("malformed", "IDX14100: JWT is not well formed, there are no dots (.).")
        if claims["aud"].rstrip("/").lower() not in {a.rstrip("/").lower() for a in audiences}:
            return Rejection("audience", "Invalid audience.")
        return claims
