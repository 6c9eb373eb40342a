"""The config file (YAML or JSON, validated by schemas/config.schema.json) and the flags, turned into Settings: every
problem is one ConfigError naming its key; secrets are resolved from env:NAME or file:PATH, never written inline."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemas

from .documents import GUID, describe, quoted, read_document
from .errors import ConfigError
from .pemfile import read_pem
from .schemacheck import decide
from .settings import (
    CLOUDS,
    CREDENTIAL_KINDS,
    Cloud,
    Credential,
    HttpOptions,
    ManagedIdentity,
    RunOptions,
    Secret,
    Settings,
    Thresholds,
)


def load(path: Path, run: RunOptions, environ: Mapping[str, str]) -> Settings:
    """Read, validate and resolve the config at `path`; every problem is a ConfigError naming its key."""
    raw = _parse(path)
    _validate(raw)
    return replace(_build(raw, path.parent, run, environ), source=str(path))


def _parse(path: Path) -> dict[str, Any]:
    data = read_document(path, "config file")
    if not isinstance(data, dict):
        raise ConfigError("", f"{path} must hold a mapping of keys (dynamics, exchange, credentials, ...)")
    return data


def _validate(raw: dict[str, Any]) -> None:
    """Schema-check the config before anything is requested. A valid config is proved so without jsonschema (its
    import alone took half of the start-up before the first request); any other goes to jsonschema, which decides
    and words the error."""
    schema = schemas.load("config")
    if decide(schema, raw) is True:
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: (list(e.absolute_path), e.validator != "required"))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise ConfigError(*describe(error))


def _build(raw: dict[str, Any], base: Path, run: RunOptions, environ: Mapping[str, str]) -> Settings:
    dynamics, exchange, app = raw["dynamics"], raw["exchange"], raw.get("app", {})
    secrets = _Secrets(base, environ)
    mailboxes = raw.get("mailboxes", "all")
    return Settings(
        environment_url=normalize_environment_url(dynamics["environment_url"]),
        dynamics_tenant=dynamics["tenant_id"].lower(),
        exchange_tenant=_exchange_tenant(exchange["tenant_id"]),
        cloud=_cloud(raw),
        credentials=tuple(_credential(i, c, secrets, base) for i, c in enumerate(raw["credentials"])),
        profile=dynamics.get("profile"),
        client_id=app["client_id"].lower() if "client_id" in app else None,
        app_secret=secrets.resolve("app.secret", app["secret"]) if "secret" in app else None,
        mailboxes=mailboxes if mailboxes == "all" else tuple(m.strip() for m in mailboxes),
        ca_bundle=_ca_bundle(raw, base),
        org_config_export=_existing_file("exchange.org_config_export", exchange.get("org_config_export"), base),
        exchange_admin_api=bool(exchange.get("admin_api", False)),
        thresholds=Thresholds(**{k: int(v) for k, v in raw.get("thresholds", {}).items()}),  # YAML's 24.0 is 24
        http=_http_options(raw.get("http", {})),
        run=run,
    )


def _http_options(given: dict[str, Any]) -> HttpOptions:
    """The `http:` section over the defaults, each value as its default's type (YAML's 4.0 is the integer 4). The
    schema bounds every value, but NaN compares false with any bound, so it is refused here."""
    defaults = HttpOptions()
    for key, value in given.items():
        if isinstance(value, float) and math.isnan(value):
            raise ConfigError(f"http.{key}", f"NaN is not a number of seconds; give one like {getattr(defaults, key)}")
    return HttpOptions(**{key: type(getattr(defaults, key))(value) for key, value in given.items()})


def normalize_environment_url(url: str) -> str:
    """The environment's origin: people paste browser URLs with paths, queries and trailing slashes."""
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced "[" (an IPv6 literal cut short)
        parts = urlsplit("")
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError("dynamics.environment_url",
                          f"{url!r} is not an https URL like https://contoso.crm4.dynamics.com")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("dynamics.environment_url", f"{url!r} has an invalid port") from None
    return f"https://{parts.hostname}" + (f":{port}" if port and port != 443 else "")


def _exchange_tenant(value: str) -> str:
    cleaned = value.strip().strip("{}").strip()
    if GUID.match(cleaned):
        if cleaned != value:
            raise ConfigError("exchange.tenant_id", f"{value!r} has stray whitespace or braces; write it as {cleaned}")
        return cleaned.lower()
    if not re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", value):
        raise ConfigError("exchange.tenant_id", f"{quoted(value)} is neither a tenant GUID nor a domain like "
                                                "contoso.com")
    return value.lower()


def _cloud(raw: dict[str, Any]) -> Cloud:
    name = raw.get("cloud", "public")
    endpoints = raw.get("endpoints")
    if name != "custom":
        if endpoints is not None:
            raise ConfigError("endpoints", f"only allowed with cloud: custom (cloud is {name!r})")
        return CLOUDS[name]
    if endpoints is None:
        raise ConfigError("endpoints", "cloud: custom needs endpoints.login, endpoints.graph and "
                                       "endpoints.exchange_resource")
    for key in ("login", "graph", "exchange_resource"):
        try:
            parts = urlsplit(endpoints[key])
        except ValueError:  # an unbalanced "[" (an IPv6 literal cut short)
            parts = urlsplit("")
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError(f"endpoints.{key}", f"{endpoints[key]!r} is not an https URL")
    login = endpoints["login"].rstrip("/")
    return Cloud("custom", login, endpoints["graph"].rstrip("/"), endpoints["exchange_resource"].rstrip("/"), login)


def _ca_bundle(raw: dict[str, Any], base: Path) -> Path | None:
    return _existing_file("tls.ca_bundle", raw.get("tls", {}).get("ca_bundle"), base)


def shown(path: Path) -> str:
    """A path from the config as a message shows it: control characters escaped, so the message stays one line
    and cannot steer the terminal."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(path))


def _existing_file(key: str, value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    try:
        path = (base / value).resolve()
        found = path.is_file()
    except (OSError, ValueError):  # a NUL character, a name too long
        raise ConfigError(key, f"{value!r} is not a usable file path") from None
    if not found:
        raise ConfigError(key, f"no file at {shown(path)}")
    return path


class _Secrets:
    def __init__(self, base: Path, environ: Mapping[str, str]) -> None:
        self.base = base
        self.environ = environ

    def resolve(self, key: str, reference: str) -> Secret:
        kind, _, name = reference.partition(":")
        if kind == "env":
            value = self.environ.get(name)
            if not value:
                raise ConfigError(key, f"environment variable {name} is not set (or empty); export it first")
            return Secret(value)
        try:
            path = (self.base / name).expanduser()
        except RuntimeError:  # ~someone who has no home directory here
            raise ConfigError(key, f"cannot read {name}: its home directory is unknown") from None
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(key, f"cannot read {shown(path)}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(key, f"{shown(path)} is not UTF-8 text (PowerShell's `>` writes UTF-16: use "
                                   "Set-Content -Encoding utf8)") from None
        except ValueError:  # a NUL character in the path
            raise ConfigError(key, f"{name!r} is not a usable file path") from None
        if not value:
            raise ConfigError(key, f"{shown(path)} is empty")
        return Secret(value)


def _credential(index: int, raw: dict[str, Any], secrets: _Secrets, base: Path) -> Credential:
    key = f"credentials[{index}]"
    kinds = [k for k in CREDENTIAL_KINDS if k in raw]
    if len(kinds) != 1:
        raise ConfigError(key, _kinds_problem(kinds))
    kind = kinds[0]
    tenant_id, client_id = raw["tenant_id"].lower(), str(raw.get("client_id", "")).lower()
    if kind == "client_secret":
        return Credential(key, tenant_id, client_id, secret=secrets.resolve(f"{key}.client_secret",
                                                                            raw["client_secret"]))
    if kind == "certificate":
        cert = raw["certificate"]
        password = secrets.resolve(f"{key}.certificate.password", cert["password"]) if "password" in cert else None
        pem = read_pem(f"{key}.certificate", base / cert["path"], password.reveal() if password else None)
        return Credential(key, tenant_id, client_id, certificate=pem)
    if kind == "device_code":
        if raw["device_code"] is not True:
            raise ConfigError(f"{key}.device_code", "only true means something here; to sign in another way, "
                                                    "remove device_code and give that kind instead")
        return Credential(key, tenant_id, client_id, device_code=True)
    if kind == "managed_identity":
        identity = _managed_identity(f"{key}.managed_identity", raw["managed_identity"], client_id)
        return Credential(key, tenant_id, identity.client_id or client_id, managed_identity=identity)
    path = _federated_token_file(f"{key}.federated_token_file", raw["federated_token_file"], base, secrets.environ)
    return Credential(key, tenant_id, client_id, federated_token_file=path)


def _kinds_problem(kinds: list[str]) -> str:
    if not kinds:
        return ("needs one way to sign in: client_secret (env:NAME or file:PATH), certificate {path: ...}, "
                "device_code: true, managed_identity: true (or {client_id: ...}) or federated_token_file: PATH")
    if kinds == ["client_secret", "certificate"]:
        return "give either client_secret or certificate, not both"
    return f"give only one way to sign in, not {' and '.join(kinds)}; one identity per tenant signs in one way"


def _managed_identity(key: str, value: Any, client_id: str) -> ManagedIdentity:
    if value is False:
        raise ConfigError(key, "only true (system-assigned) or {client_id: ...} (user-assigned) means something "
                               "here; to sign in another way, remove managed_identity and give that kind instead")
    if value is True:
        return ManagedIdentity(None)
    assigned = str(value["client_id"]).lower()
    if client_id and client_id != assigned:
        raise ConfigError(key, f"client_id {assigned} differs from the credential's client_id {client_id}; "
                               "give the user-assigned identity's client id once, under managed_identity")
    return ManagedIdentity(assigned)


def _federated_token_file(key: str, value: str, base: Path, environ: Mapping[str, str]) -> Path:
    """The token file's path: written as a path (relative to the config), or env:NAME holding the path (AKS sets
    AZURE_FEDERATED_TOKEN_FILE). It must be readable now; its content is read again at every sign-in."""
    if value.startswith("env:"):
        name = value.removeprefix("env:")
        if not environ.get(name):
            raise ConfigError(key, f"environment variable {name} is not set (or empty); it should hold the path "
                                   "of the federated token file")
        value = environ[name]
    path = base / Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {shown(path)}: {exc.strerror}; the CI job or the pod writes this file "
                               "before xtcheck starts") from None
    except UnicodeDecodeError:
        text = ""
    if text.count(".") != 2:
        raise ConfigError(key, f"{shown(path)} does not hold a JWT (three dot-separated parts); write the identity "
                               "provider's token into it as it is")
    return path
