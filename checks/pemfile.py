"""Certificate credentials: a PEM file with a private key and its certificate, checked when the config loads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_KEY = re.compile(rb"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL)


@dataclass(frozen=True)
class Pem:
    """The parts msal needs; the key stays inside this object and never reaches a repr."""

    private_key: str
    certificate: str
    passphrase: str | None

    def __repr__(self) -> str:
        return "Pem(private_key='***')"

    def msal_credential(self) -> dict[str, str]:
        """SHA-256 thumbprint and PS256, as msal does when given the public certificate."""
        credential = {"private_key": self.private_key, "public_certificate": self.certificate}
        if self.passphrase:
            credential["passphrase"] = self.passphrase
        return credential


def read_pem(key: str, path: Path, password: str | None) -> Pem:
    from cryptography import x509  # only a certificate credential needs it: not every command pays the import
    from cryptography.hazmat.primitives import serialization

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{key}.path", f"cannot read {path}: {exc.strerror}") from None
    cert, private = _CERT.search(data), _KEY.search(data)
    if cert is None or private is None:
        missing = "certificate" if cert is None else "private key"
        raise ConfigError(f"{key}.path", f"{path} holds no {missing}; put the key and the certificate in one PEM file")
    try:
        serialization.load_pem_private_key(private.group(0), password.encode() if password else None)
        x509.load_pem_x509_certificate(cert.group(0))
    except TypeError:
        problem = "is encrypted; add certificate.password" if password is None else "is not encrypted; drop password"
        raise ConfigError(key, f"the private key in {path} {problem}") from None
    except ValueError:
        raise ConfigError(key, f"the private key in {path} does not open (wrong password or damaged file)") from None
    return Pem(private.group(0).decode(), cert.group(0).decode(), password)
