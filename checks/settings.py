"""Settings: the config file (YAML or JSON, validated by schemas/config.schema.json) plus flags, built once."""

from __future__ import annotations

import difflib
import json
import math
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


CREDENTIAL_KINDS = ("client_secret", "certificate", "device_code", "managed_identity", "federated_token_file")


@dataclass(frozen=True)
class ManagedIdentity:
    """The Azure managed identity of the machine xtcheck runs on; `client_id` None: the system-assigned one."""

    client_id: str | None = None


@dataclass(frozen=True)
class Credential:
    """One of the auditor's reader identities, for one tenant, with exactly one way to sign in."""

    key: str  # where it sits in the config, for messages: credentials[0]
    tenant_id: str
    client_id: str  # "" only for a system-assigned managed identity whose id the config does not name
    secret: Secret | None = None
    certificate: Pem | None = None
    device_code: bool = False  # interactive, delegated: an admin signs in through a public client
    managed_identity: ManagedIdentity | None = None
    federated_token_file: Path | None = None  # a JWT from an external IdP, re-read at every sign-in

    @property
    def kind(self) -> str:
        """One of CREDENTIAL_KINDS."""
        if self.certificate is not None:
            return "certificate"
        if self.device_code:
            return "device_code"
        if self.managed_identity is not None:
            return "managed_identity"
        if self.federated_token_file is not None:
            return "federated_token_file"
        return "client_secret"


@dataclass(frozen=True)
class Thresholds:
    secret_expiry_warning_days: int = 30
    sync_stale_hours: int = 24
    alert_lookback_days: int = 7


@dataclass(frozen=True)
class HttpOptions:
    """How patient a run is with the network (the config's `http:` section). The defaults suit Microsoft's clouds;
    this is the one place they are written. A CI gate that should fail fast lowers them, a slow link raises them.
    The run's `--timeout` deadline still bounds the whole run, whatever these say."""

    retries: int = 4  # attempts per request in all, the first included (1: never retry)
    retry_budget: float = 30.0  # seconds one request may spend waiting between attempts, Retry-After included
    connect_timeout: float = 10.0  # seconds to open a connection (TCP and TLS) and to send a request
    read_timeout: float = 30.0  # seconds a server may stay silent while answering
    dataverse_page_size: int = 5000  # rows per Dataverse page asked for (Prefer: odata.maxpagesize)


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
    http: HttpOptions = field(default_factory=HttpOptions)
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
    data = read_document(path, "config file")
    if not isinstance(data, dict):
        raise ConfigError("", f"{path} must hold a mapping of keys (dynamics, exchange, credentials, ...)")
    return data


def read_document(path: Path, what: str) -> Any:
    """A YAML or JSON file (by suffix) as data; unreadable or unparseable is one ConfigError naming line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read the {what} {path}: {exc.strerror}") from None
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("", f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError("", f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None


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
        # YAML keys need not be strings (1, true, null, a date): compare and sort them as text
        extra = sorted((k for k in value if k not in known), key=str) if isinstance(value, dict) else []
        hint = difflib.get_close_matches(str(extra[0]), known, n=1) if extra else []
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known keys here: {', '.join(known)}"
        return f"unknown key {extra[0]!r}{suggestion}" if extra else error.message
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"missing required key {missing[0]!r}" if missing else error.message
    if error.validator == "pattern" and isinstance(value, str):
        return _explain_pattern(schema.get("pattern", ""), value)
    if error.validator in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{value!r} is out of range; give {_bounds(schema)}"
    if error.validator == "type" and schema.get("type") in ("integer", "number"):
        return f"{quoted(value) if isinstance(value, str) else repr(value)} is not {_bounds(schema)}"
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
        return f"{quoted(value)} is not a GUID (like 11111111-2222-3333-4444-555555555555)"
    if "@" in pattern:
        return f"{quoted(value)} is not an email address"
    return f"{quoted(value)} is not valid here"


def _bounds(schema: dict[str, Any]) -> str:
    """The range a number must be in, as the schema states it: `a whole number from 1 to 10`."""
    kind = "a whole number" if schema.get("type") == "integer" else "a number"
    if "minimum" in schema and "maximum" in schema:
        return f"{kind} from {schema['minimum']} to {schema['maximum']}"
    low = (f"more than {schema['exclusiveMinimum']}" if "exclusiveMinimum" in schema
           else f"at least {schema['minimum']}" if "minimum" in schema else "")
    high = f"at most {schema['maximum']}" if "maximum" in schema else ""
    return f"{kind} {' and '.join(part for part in (low, high) if part)}"


_PLAIN = re.compile(r"[\w.@{}\s-]{0,64}")


def quoted(value: str) -> str:
    """A wrong value as a message repeats it, unless it may be a secret pasted under the wrong key: ids, domains
    and addresses hold no ~ / + = and the like, and are not long blobs of letters and digits."""
    if _PLAIN.fullmatch(value) and not (len(value) >= 32 and not re.search(r"[.@-]", value)):
        return repr(value)
    return f"the {len(value)}-character value given (not repeated here: it may be a secret)"


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
    if _GUID.match(cleaned):
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
