"""Settings: the config file (YAML or JSON, validated by schemas/config.schema.json) plus flags, built once."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

import schemas

from .errors import ConfigError
from .pemfile import Pem, read_pem

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FORMATS = ("console", "json", "junit", "html", "markdown", "sarif")


class Secret:
    """A secret value that never shows itself in a repr, a log line or an exception."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Cloud:
    name: str
    login: str
    graph: str
    exchange_resource: str
    portal: str


CLOUDS = {
    "public": Cloud("public", "https://login.microsoftonline.com", "https://graph.microsoft.com",
                    "https://outlook.office365.com", "https://entra.microsoft.com"),
    "usgov": Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us",
                   "https://outlook.office365.us", "https://portal.azure.us"),
    "usgov-dod": Cloud("usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us",
                       "https://outlook-dod.office365.us", "https://portal.azure.us"),
    "china": Cloud("china", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn",
                   "https://partner.outlook.cn", "https://portal.azure.cn"),
}


@dataclass(frozen=True)
class Credential:
    """One of the auditor's reader identities, for one tenant."""

    key: str  # where it sits in the config, for messages: credentials[0]
    tenant_id: str
    client_id: str
    secret: Secret | None = None
    certificate: Pem | None = None


@dataclass(frozen=True)
class Thresholds:
    secret_expiry_warning_days: int = 30
    sync_stale_hours: int = 24
    alert_lookback_days: int = 7


@dataclass(frozen=True)
class RunOptions:
    """What the flags say about this run (not about the tenants)."""

    formats: tuple[str, ...] = ("console",)
    output_dir: Path = Path("reports")
    fail_on: str = "fail"
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    verbosity: int = 0
    min_severity: str = "info"  # findings below this severity are reported but do not change the exit code
    waivers: Path | None = None  # the waiver file (--waivers)
    save_evidence: Path | None = None  # where to write the evidence snapshot (--save-evidence)


@dataclass(frozen=True)
class Settings:
    environment_url: str  # the origin: https://org.crm4.dynamics.com
    dynamics_tenant: str
    exchange_tenant: str  # a GUID (lower case) or a verified domain as written
    cloud: Cloud
    credentials: tuple[Credential, ...]
    profile: str | None = None
    client_id: str | None = None
    app_secret: Secret | None = None
    mailboxes: str | tuple[str, ...] = "all"
    ca_bundle: Path | None = None
    org_config_export: Path | None = None  # Get-OrganizationConfig as JSON, for EWS-001
    exchange_admin_api: bool = False  # opt-in: read it through the Exchange Online admin API instead
    thresholds: Thresholds = field(default_factory=Thresholds)
    run: RunOptions = field(default_factory=RunOptions)
    source: str = ""  # the config file as named on the command line

    def credential_for(self, tenant_id: str) -> Credential | None:
        return next((c for c in self.credentials if c.tenant_id == tenant_id.lower()), None)


def load(path: Path, run: RunOptions, environ: Mapping[str, str]) -> Settings:
    """Read, validate and resolve the config at `path`; every problem is a ConfigError naming its key."""
    raw = _parse(path)
    _validate(raw)
    return replace(_build(raw, path.parent, run, environ), source=str(path))


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("", f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError("", f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError("", f"{path} must hold a mapping of keys (dynamics, exchange, credentials, ...)")
    return data


def _validate(raw: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schemas.load("config"))
    errors = sorted(validator.iter_errors(raw), key=lambda e: (list(e.absolute_path), e.validator != "required"))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise ConfigError(*describe(error))


def describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """A schema error as (key path like `credentials[1].client_secret`, one sentence saying what is wrong)."""
    return _key(error.absolute_path), _explain(error)


def _key(path: Any) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _explain(error: jsonschema.ValidationError) -> str:  # noqa: PLR0911 (one answer per kind of mistake)
    """One sentence: what is wrong with this key and how to fix it."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    if error.validator == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        extra = sorted(set(value) - set(known)) if isinstance(value, dict) else []
        hint = difflib.get_close_matches(extra[0], known, n=1) if extra else []
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known keys here: {', '.join(known)}"
        return f"unknown key {extra[0]!r}{suggestion}" if extra else error.message
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"missing required key {missing[0]!r}" if missing else error.message
    if error.validator == "pattern" and isinstance(value, str):
        return _explain_pattern(schema.get("pattern", ""), value)
    if error.validator in ("enum", "const"):
        options = schema.get("enum", [schema.get("const")])
        return f"{value!r} is not one of {', '.join(map(str, options))}"
    if error.validator == "oneOf" and isinstance(value, dict) and {"client_secret", "certificate"} <= set(value):
        return "give either client_secret or certificate, not both"
    if error.validator == "oneOf" and isinstance(value, dict):
        return "needs client_secret (env:NAME or file:PATH) or certificate {path: ...}"
    if error.validator == "oneOf":
        return "must be 'all' or a list of email addresses"
    return error.message


def _explain_pattern(pattern: str, value: str) -> str:
    if "env:" in pattern:
        return ("holds a literal secret; put the secret in an environment variable and write env:NAME, "
                "or in a file and write file:PATH")
    if "[0-9a-fA-F]{8}" in pattern:
        cleaned = value.strip().strip("{}").strip()
        if _GUID.match(cleaned):
            return f"{value!r} has stray whitespace or braces; write it as {cleaned}"
        return f"{value!r} is not a GUID (like 11111111-2222-3333-4444-555555555555)"
    if "@" in pattern:
        return f"{value!r} is not an email address"
    return f"{value!r} is not valid here"


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
        thresholds=Thresholds(**raw.get("thresholds", {})),
        run=run,
    )


def normalize_environment_url(url: str) -> str:
    """The environment's origin: people paste browser URLs with paths, queries and trailing slashes."""
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
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
    if _GUID.match(cleaned):
        if cleaned != value:
            raise ConfigError("exchange.tenant_id", f"{value!r} has stray whitespace or braces; write it as {cleaned}")
        return cleaned.lower()
    if not re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", value):
        raise ConfigError("exchange.tenant_id", f"{value!r} is neither a tenant GUID nor a domain like contoso.com")
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
        parts = urlsplit(endpoints[key])
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError(f"endpoints.{key}", f"{endpoints[key]!r} is not an https URL")
    login = endpoints["login"].rstrip("/")
    return Cloud("custom", login, endpoints["graph"].rstrip("/"), endpoints["exchange_resource"].rstrip("/"), login)


def _ca_bundle(raw: dict[str, Any], base: Path) -> Path | None:
    return _existing_file("tls.ca_bundle", raw.get("tls", {}).get("ca_bundle"), base)


def _existing_file(key: str, value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    path = (base / value).resolve()
    if not path.is_file():
        raise ConfigError(key, f"no file at {path}")
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
        path = (self.base / name).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
        if not value:
            raise ConfigError(key, f"{path} is empty")
        return Secret(value)


def _credential(index: int, raw: dict[str, Any], secrets: _Secrets, base: Path) -> Credential:
    key = f"credentials[{index}]"
    secret = secrets.resolve(f"{key}.client_secret", raw["client_secret"]) if "client_secret" in raw else None
    pem = None
    if "certificate" in raw:
        cert = raw["certificate"]
        password = secrets.resolve(f"{key}.certificate.password", cert["password"]) if "password" in cert else None
        pem = read_pem(f"{key}.certificate", base / cert["path"], password.reveal() if password else None)
    return Credential(key, raw["tenant_id"].lower(), raw["client_id"].lower(), secret, pem)
