"""Signed evidence: a detached signature beside each file a run writes (`--sign-key`), checked before a snapshot or a
report is read (`--verify-key`).

A snapshot's own `sha256` catches a careless edit or a damaged file, but anyone who edits it on purpose can compute
the digest again. A signature cannot be made again without the private key: a snapshot or a report that verifies
with the signer's public key is, byte for byte, what the signer's run wrote.

The signature file `NAME.sig` beside `NAME` is one JSON object:
    {"format": "xtcheck-signature/1", "file": "xtcheck-report.json", "sha256": "<hex of the file's bytes>",
     "algorithm": "Ed25519" | "RSA-PSS-SHA256", "key": "<sha256 of the public key, hex>", "signature": "<base64>"}
What is signed is the line `xtcheck-signature/1 <file name> <sha256 hex>`: the file's bytes through their digest,
and its name (a report signed as one file cannot pass for another). Ed25519 keys are preferred; RSA keys of at
least 2048 bits are signed with PSS and SHA-256. Keys are PEM files (PKCS#8 or the traditional formats); a private
key may be encrypted, its password given as `env:NAME` or `file:PATH` like every secret xtcheck reads."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError, XtcheckError
from .files import CONFIG_LIMIT, DOCUMENT_LIMIT, SECRET_LIMIT, read_bytes, shown, write_atomic

if TYPE_CHECKING:  # cryptography loads only when a key is used
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

FORMAT = "xtcheck-signature/1"
SUFFIX = ".sig"
MIN_RSA_BITS = 2048


class SignatureError(XtcheckError):
    """A key that cannot be used, or a file whose signature is missing or does not verify (exit 2)."""


@dataclass(frozen=True)
class SigningKey:
    key: PrivateKeyTypes
    algorithm: str
    key_id: str  # sha256 of the public key (DER, SubjectPublicKeyInfo), hex


def load_signing_key(path: Path, password: str | None = None) -> SigningKey:
    """The private key at `path` (PEM, Ed25519 or RSA of at least 2048 bits); one SignatureError otherwise."""
    from cryptography.hazmat.primitives import serialization

    data = _read(path, "signing key", SECRET_LIMIT)
    try:
        key = serialization.load_pem_private_key(data, password.encode() if password else None)
    except TypeError:
        problem = "is encrypted: give its password with --sign-key-password env:NAME" if password is None else \
            "is not encrypted: drop --sign-key-password"
        raise SignatureError(f"--sign-key: the key in {shown(path)} {problem}") from None
    except ValueError:
        raise SignatureError(f"--sign-key: {shown(path)} holds no private key that opens (a PEM Ed25519 or RSA key; "
                             "a wrong password, or another format)") from None
    public = key.public_key()
    return SigningKey(key, _algorithm(public, "--sign-key", path), _key_id(public))


def load_verify_key(path: Path) -> PublicKeyTypes:
    """The public key at `path`: a PEM public key or certificate (a private key is taken for its public half)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = _read(path, "verify key", CONFIG_LIMIT)
    loaders = (serialization.load_pem_public_key, lambda d: x509.load_pem_x509_certificate(d).public_key(),
               lambda d: serialization.load_pem_private_key(d, None).public_key())
    for load in loaders:
        try:
            public = load(data)
        except (ValueError, TypeError):
            continue
        _algorithm(public, "--verify-key", path)
        return public
    raise SignatureError(f"--verify-key: {shown(path)} holds no public key, certificate or unencrypted private key "
                         "(PEM, Ed25519 or RSA)")


def sign_file(path: Path, key: SigningKey) -> Path:
    """Write `path`.sig, the signature of the file's bytes as they are now; returns its path."""
    data = _read(path, "file to sign", None)
    digest = hashlib.sha256(data).hexdigest()
    document = {"format": FORMAT, "file": path.name, "sha256": digest, "algorithm": key.algorithm,
                "key": key.key_id, "signature": base64.b64encode(_sign(key, _message(path.name, digest))).decode()}
    target = path.with_name(path.name + SUFFIX)
    write_atomic(target, lambda stream: stream.write(json.dumps(document, indent=2) + "\n"))
    return target


def verify_bytes(data: bytes, path: Path, public: PublicKeyTypes) -> None:
    """Check that `data`, read from `path`, is what `path`.sig says was signed with the key `public`; one
    SignatureError naming what does not hold. The bytes are the ones the caller goes on to parse: nothing can be
    swapped between the check and the read."""
    signature_path = path.with_name(path.name + SUFFIX)
    name = shown(path)
    try:
        raw = read_bytes(signature_path, "signature", CONFIG_LIMIT)
    except InputError:
        raise SignatureError(f"{name} has no signature beside it ({shown(signature_path)}); --verify-key accepts "
                             "only files a run signed with --sign-key") from None
    document = _signature_document(raw, signature_path)
    digest = hashlib.sha256(data).hexdigest()
    if document["file"] != path.name:
        raise SignatureError(f"{shown(signature_path)} signs another file ({_short(document['file'])}), not {name}")
    if document["key"] != _key_id(public):
        raise SignatureError(f"{name} was signed with another key than the one given to --verify-key")
    if document["sha256"] != digest or not _verifies(public, base64.b64decode(document["signature"]),
                                                     _message(path.name, document["sha256"])):
        raise SignatureError(f"{name} does not verify: it was changed after it was signed (or its signature was)")


def _message(name: str, digest: str) -> bytes:
    return f"{FORMAT} {name} {digest}".encode()


def _sign(key: SigningKey, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    if isinstance(key.key, ed25519.Ed25519PrivateKey):
        return key.key.sign(message)
    assert isinstance(key.key, rsa.RSAPrivateKey)  # _algorithm admitted nothing else
    return key.key.sign(message, _pss(padding, hashes), hashes.SHA256())


def _verifies(public: PublicKeyTypes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, message)
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, _pss(padding, hashes), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _pss(padding: Any, hashes: Any) -> Any:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def _algorithm(public: PublicKeyTypes, flag: str, path: Path) -> str:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if isinstance(public, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise SignatureError(f"{flag}: the RSA key in {shown(path)} has {public.key_size} bits; use "
                                 f"{MIN_RSA_BITS} or more, or an Ed25519 key")
        return "RSA-PSS-SHA256"
    from cryptography.hazmat.primitives.asymmetric import dsa, ec

    kind = "an elliptic-curve (ECDSA)" if isinstance(public, ec.EllipticCurvePublicKey) else \
        "a DSA" if isinstance(public, dsa.DSAPublicKey) else "another kind of"
    raise SignatureError(f"{flag}: {shown(path)} holds {kind} key; xtcheck signs with Ed25519 or RSA keys "
                         "(openssl genpkey -algorithm ed25519)")


def _key_id(public: PublicKeyTypes) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _signature_document(raw: bytes, path: Path) -> dict[str, str]:
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    fields = ("format", "file", "sha256", "algorithm", "key", "signature")
    if not isinstance(document, dict) or document.get("format") != FORMAT or \
            not all(isinstance(document.get(field), str) for field in fields):
        raise SignatureError(f"{shown(path)} is not an xtcheck signature ({FORMAT})")
    try:
        base64.b64decode(document["signature"], validate=True)
    except ValueError:
        raise SignatureError(f"{shown(path)} is not an xtcheck signature: its signature is not base64") from None
    return {field: document[field] for field in fields}


def _read(path: Path, what: str, limit: int | None) -> bytes:
    try:
        return read_bytes(path, what, limit if limit is not None else DOCUMENT_LIMIT)
    except InputError as exc:
        raise SignatureError(str(exc)) from None


def _short(text: str) -> str:
    return repr(text[:60])
