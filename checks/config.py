"""The config file (YAML or JSON, validated by schemas/config.schema.json) and the flags, turned into Settings: every
problem is one ConfigError naming its key; secrets are resolved from env:NAME or file:PATH, never written inline."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemas

from .documents import GUID, describe, given, read_document
from .errors import ConfigError, InputError
from .files import CONFIG_LIMIT, SECRET_LIMIT, read_bytes, read_text, shown
from .pemfile import read_pem
from .schemacheck import decide
from .settings import (
    CLOUDS,
    CREDENTIAL_KINDS,
    Cloud,
    Credential,
    EstateSettings,
    HttpOptions,
    ManagedIdentity,
    RunOptions,
    Secret,
    Settings,
    TargetSpec,
    Thresholds,
)
from .text import looks_like_a_name


def load(path: Path, run: RunOptions, environ: Mapping[str, str]) -> Settings:
    """Read, validate and resolve the config at `path`; every problem is a ConfigError naming its key. A config of
    more than one target is a ConfigError here: the commands that take one (audit, demo) read it with `load_any`."""
    loaded = load_any(path, run, environ)
    if isinstance(loaded, EstateSettings):
        raise ConfigError("targets" if loaded.targets else "dynamics.environments",
                          "this config audits an estate of targets; this command reads one target: give it a config "
                          "with dynamics.environment_url")
    return loaded


def load_any(path: Path, run: RunOptions, environ: Mapping[str, str]) -> Settings | EstateSettings:
    """`load`, or, for a config that lists `targets:` or discovers `dynamics.environments: all`, the estate's
    settings: what its targets share, and the targets."""
    raw = _parse(path)
    _validate(raw)
    dynamics = raw["dynamics"]
    ways = [key for key in ("environment_url", "environments") if key in dynamics] + \
        (["targets"] if "targets" in raw else [])
    if len(ways) != 1:
        raise ConfigError("dynamics", "name what to audit one way: dynamics.environment_url (one environment), "
                                      "dynamics.environments: all (every environment of tenant A), or targets: (a list)"
                          + (f"; this config has {' and '.join(ways)}" if ways else ""))
    settings = replace(_build(raw, path.parent, run, environ), source=str(path))
    if ways == ["environment_url"]:
        return settings
    targets = tuple(_target(i, t) for i, t in enumerate(raw.get("targets", [])))
    names = [t.name for t in targets if t.name]
    if len(set(names)) != len(names):
        raise ConfigError("targets", "two targets have the same name; give each its own")
    if settings.app_secret is not None and not settings.client_id:
        raise ConfigError("app.secret", "in an estate, the secret is one app's: name that app in app.client_id (the "
                                        "targets with another app skip the opt-in sign-in, EXO-003)")
    admin_api = dynamics.get("admin_api", "")
    if admin_api:
        _https_host("dynamics.admin_api", admin_api, admin_api, "like https://gov.api.bap.microsoft.us")
    return EstateSettings(settings, targets, discover=dynamics.get("environments") == "all",
                          admin_api=admin_api.rstrip("/"))


def _target(index: int, raw: dict[str, Any]) -> TargetSpec:
    key = f"targets[{index}]"
    mailboxes = raw.get("mailboxes")
    return TargetSpec(
        environment_url=normalize_environment_url(raw["environment_url"], f"{key}.environment_url"),
        name=raw.get("name", "").strip(), profile=raw.get("profile"),
        exchange_tenant=(_exchange_tenant(raw["exchange_tenant"], f"{key}.exchange_tenant")
                         if "exchange_tenant" in raw else None),
        client_id=raw["client_id"].lower() if "client_id" in raw else None,
        mailboxes=None if mailboxes is None else mailboxes if mailboxes == "all" else
        tuple(m.strip() for m in mailboxes))


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
        environment_url=normalize_environment_url(dynamics["environment_url"]) if "environment_url" in dynamics
        else "",
        dynamics_tenant=dynamics["tenant_id"].lower(),
        exchange_tenant=_exchange_tenant(exchange["tenant_id"]),
        cloud=_cloud(raw),
        credentials=tuple(_credential(i, c, secrets, base) for i, c in enumerate(raw["credentials"])),
        profile=dynamics.get("profile"),
        client_id=app["client_id"].lower() if "client_id" in app else None,
        app_secret=secrets.resolve("app.secret", app["secret"]) if "secret" in app else None,
        mailboxes=mailboxes if mailboxes == "all" else tuple(m.strip() for m in mailboxes),
        ca_bundle=_ca_bundle(raw, base),
        org_config_export=_existing_file("exchange.org_config_export", exchange.get("org_config_export"), base,
                                         "organization config export"),
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


def normalize_environment_url(url: str, key: str = "dynamics.environment_url") -> str:
    """The environment's origin: people paste browser URLs with paths, queries and trailing slashes (dropped here,
    so nothing after the host can reach the token scope)."""
    text = url.strip()
    host, port = _https_host(key, text if "://" in text else f"https://{text}", url,
                             "like https://contoso.crm4.dynamics.com")
    return f"https://{host}" + (f":{port}" if port and port != 443 else "")


_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
# A DNS name of two labels or more, ending in a top-level domain (letters, or an IDN's xn--): a pasted secret
# rarely has that shape, and one that is used as a host would be looked up in DNS and become a token scope.
_DNS_NAME = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")


def _https_host(key: str, text: str, given_text: str, example: str) -> tuple[str, int | None]:
    """(host, port) of an https URL whose host is a DNS name, an IP address or localhost, with no user name or
    password in it; anything else is a ConfigError that says what is wrong without repeating the value."""
    what = f"{given(given_text)} is not an https URL with a host name, {example}"
    if any(c.isspace() for c in text):
        raise ConfigError(key, f"{what} (it holds a space or line break)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # an unbalanced "[" (an IPv6 literal cut short), a port that is not a number from 0 to 65535
        raise ConfigError(key, f"{what} (its host or port cannot be read)") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigError(key, what)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(key, f"{what} (it holds a user name or password before an @; give the host alone)")
    if not _is_host(parts.hostname):
        raise ConfigError(key, f"{what} (its host is neither a DNS name nor an IP address)")
    return parts.hostname, port


def _is_host(host: str) -> bool:
    if host == "localhost" or _DNS_NAME.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _exchange_tenant(value: str, key: str = "exchange.tenant_id") -> str:
    cleaned = value.strip().strip("{}").strip()
    if GUID.match(cleaned):
        if cleaned != value:
            raise ConfigError(key, f"{value!r} has stray whitespace or braces; write it as {cleaned}")
        return cleaned.lower()
    if not re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", value):
        raise ConfigError(key, f"{given(value)} is neither a tenant GUID nor a domain like contoso.com")
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
    for key in ("login", "graph", "exchange_resource", "bap", "powerapps"):
        if key in endpoints:
            _https_host(f"endpoints.{key}", endpoints[key], endpoints[key], "like https://login.example.com")
    login = endpoints["login"].rstrip("/")
    return Cloud("custom", login, endpoints["graph"].rstrip("/"), endpoints["exchange_resource"].rstrip("/"), login,
                 endpoints.get("bap", "").rstrip("/"), endpoints.get("powerapps", "").rstrip("/"))


def _ca_bundle(raw: dict[str, Any], base: Path) -> Path | None:
    """The CA bundle, proved now to hold a certificate OpenSSL takes (as the HTTP layer will load it): a file
    without one would otherwise end the first request in an ssl.SSLError."""
    import ssl

    path = _existing_file("tls.ca_bundle", raw.get("tls", {}).get("ca_bundle"), base, "CA bundle")
    if path is None:
        return None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError):
        raise ConfigError("tls.ca_bundle", f"{shown(path)} holds no certificate OpenSSL can read; give a PEM file of "
                                           "-----BEGIN CERTIFICATE----- blocks") from None
    return path


def config_file(key: str, value: str, base: Path) -> Path:
    """The file a config value names: relative to the config's folder, `~` expanded. One that is not there is a
    ConfigError that names it by its length only: a path leading nowhere may be a secret pasted under the wrong
    key, and this line reaches CI logs."""
    unusable = f"the {len(value)}-character path given"
    if "\x00" in value:
        raise ConfigError(key, f"{unusable} is not a usable file path (it holds a NUL character)")
    try:
        path = base / Path(value).expanduser()
        found = path.exists()
    except RuntimeError:  # ~someone who has no home directory here
        raise ConfigError(key, f"cannot read {unusable}: its home directory is unknown") from None
    except (OSError, ValueError):  # a NUL character, a name too long
        raise ConfigError(key, f"{unusable} is not a usable file path") from None
    if not found:
        raise ConfigError(key, f"cannot read {unusable}: there is no file there (a relative path starts in the "
                               f"config's folder, {shown(base.resolve())})")
    return path


def _existing_file(key: str, value: str | None, base: Path, what: str) -> Path | None:
    """An input file the run reads later, proved readable now: a regular file within CONFIG_LIMIT."""
    if value is None:
        return None
    path = config_file(key, value, base).resolve()
    try:
        read_bytes(path, what, CONFIG_LIMIT)
    except InputError as exc:
        raise ConfigError(key, str(exc)) from None
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
                raise ConfigError(key, f"{variable(name)} is not set (or empty); export it first")
            return Secret(value)
        path = config_file(key, name, self.base)
        try:
            value = read_text(path, "secret file", SECRET_LIMIT).strip()
        except InputError as exc:
            raise ConfigError(key, str(exc)) from None
        if not value:
            raise ConfigError(key, f"{shown(path)} is empty")
        return Secret(value)


def secret_reference(key: str, reference: str, environ: Mapping[str, str], base: Path | None = None) -> Secret:
    """A secret given as `env:NAME` or `file:PATH` outside the config (a flag's value, say), resolved as the config's
    own are; anything else is a ConfigError naming `key` (a secret is never written inline)."""
    if not reference.startswith(("env:", "file:")):
        raise ConfigError(key, "give the secret as env:NAME or file:PATH, never inline")
    return _Secrets(base or Path.cwd(), environ).resolve(key, reference)


def variable(name: str) -> str:
    """An environment variable as a message names it: by name when it looks like one, else by its length (a secret
    written after env: by mistake)."""
    if looks_like_a_name(name):
        return f"environment variable {name}"
    return f"the environment variable named by the {len(name)} characters after env: (not repeated here: they may " \
           "be a secret)"


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
        path = config_file(f"{key}.certificate.path", cert["path"], base)
        pem = read_pem(f"{key}.certificate", path, password.reveal() if password else None)
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
            raise ConfigError(key, f"{variable(name)} is not set (or empty); it should hold the path of the federated "
                                   "token file")
        value = environ[name]
    try:
        path = config_file(key, value, base)
    except ConfigError as exc:
        raise ConfigError(key, f"{exc.problem}; the CI job or the pod writes this file before xtcheck starts") \
            from None
    try:
        text = read_text(path, "federated token file", SECRET_LIMIT).strip()
    except InputError as exc:
        raise ConfigError(key, str(exc)) from None
    if text.count(".") != 2:
        raise ConfigError(key, f"{shown(path)} does not hold a JWT (three dot-separated parts); write the identity "
                               "provider's token into it as it is")
    return path
