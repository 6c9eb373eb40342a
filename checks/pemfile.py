"""Certificate credentials: a PEM file with a private key and its certificate, checked when the config loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, InputError
from .files import SECRET_LIMIT, read_bytes, shown

_CERT = (b"CERTIFICATE",)
_KEY = (b"ENCRYPTED PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PRIVATE KEY")


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
        data = read_bytes(path, "certificate file", SECRET_LIMIT)
    except InputError as exc:
        raise ConfigError(f"{key}.path", str(exc)) from None
    path_text = shown(path)
    cert, private = _block(data, _CERT), _block(data, _KEY)
    if cert is None or private is None:
        missing = "certificate" if cert is None else "private key"
        raise ConfigError(f"{key}.path", f"{path_text} holds no {missing}; put the key and the certificate in one "
                                         "PEM file")
    try:
        serialization.load_pem_private_key(private, password.encode() if password else None)
        x509.load_pem_x509_certificate(cert)
    except TypeError:
        problem = "is encrypted; add certificate.password" if password is None else "is not encrypted; drop password"
        raise ConfigError(key, f"the private key in {path_text} {problem}") from None
    except ValueError:
        raise ConfigError(key, f"the private key in {path_text} does not open (wrong password or damaged "
                               "file)") from None
    return Pem(private.decode(), cert.decode(), password)


def _block(data: bytes, labels: tuple[bytes, ...]) -> bytes | None:
    """The first PEM block with one of `labels`, BEGIN line to END line. Found with `bytes.find`, in linear time: a
    lazy regex would try every BEGIN against the rest of the file, and a megabyte of BEGIN lines takes minutes."""
    found: list[tuple[int, bytes]] = []
    for label in labels:
        begin = data.find(b"-----BEGIN " + label + b"-----")
        if begin >= 0:
            found.append((begin, label))
    for begin, label in sorted(found):
        footer = b"-----END " + label + b"-----"
        end = data.find(footer, begin)
        if end >= 0:
            return data[begin:end + len(footer)]
    return None
