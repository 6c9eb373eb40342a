"""Settings: what one run knows about the tenants, its identities and itself, built once at the edge (config.py) and
passed down frozen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .pemfile import Pem

FORMATS = ("console", "json", "junit", "html", "markdown", "sarif", "calendar")


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
    bap: str = ""  # the Power Platform admin API ("" where xtcheck knows no host for the cloud)
    powerapps: str = ""  # the resource its tokens are for ("" where Microsoft's sources disagree)


CLOUDS = {
    # Power Platform admin API hosts and token resources: Microsoft's Terraform provider (constants.go), the US ones
    # also on a SharePoint migration page. GCC High's resource is given two ways by Microsoft's sources: left out.
    "public": Cloud("public", "https://login.microsoftonline.com", "https://graph.microsoft.com",
                    "https://outlook.office365.com", "https://entra.microsoft.com", "https://api.bap.microsoft.com",
                    "https://service.powerapps.com"),
    "usgov": Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us",
                   "https://outlook.office365.us", "https://portal.azure.us", "https://high.api.bap.microsoft.us"),
    "usgov-dod": Cloud("usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us",
                       "https://outlook-dod.office365.us", "https://portal.azure.us", "https://api.bap.appsplatform.us",
                       "https://service.apps.appsplatform.us"),
    "china": Cloud("china", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn",
                   "https://partner.outlook.cn", "https://portal.azure.cn", "https://api.bap.partner.microsoftonline.cn",
                   "https://service.powerapps.cn"),
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
    request_timeout: float = 120.0  # seconds one request may take in all, retries and a dripping answer included
    max_response_mb: int = 64  # the largest answer read, in MiB (a 5,000-row Dataverse page is about 4 MiB)
    max_run_mb: int = 2048  # every answer of the run together, in MiB (100,000 mailboxes and their users: 120 MiB)


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
    color: str = "auto"  # --color: auto, always, never (checks/terminal.py)
    sign_key: Path | None = None  # --sign-key: sign every file written (checks/signing.py)
    sign_key_password: str | None = None  # --sign-key-password: env:NAME or file:PATH
    shard: tuple[int, int] | None = None  # --shard I/N: audit the I-th of N shares of an estate's targets

    @property
    def to_stdout(self) -> bool:
        """`--output -`: the one file format asked for goes to stdout, and nothing else does."""
        return str(self.output_dir) == "-"


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


@dataclass(frozen=True)
class TargetSpec:
    """One target as the config names it (`targets:`), or as discovery found it."""

    environment_url: str
    name: str = ""
    profile: str | None = None
    exchange_tenant: str | None = None  # None: exchange.tenant_id
    client_id: str | None = None  # None: app.client_id, or the profile's
    mailboxes: str | tuple[str, ...] | None = None  # None: the config's `mailboxes`
    environment: str = ""  # the environment's display name (discovery)


@dataclass(frozen=True)
class EstateSettings:
    """A config that audits more than one target: what they share (`shared`: cloud, credentials, http, thresholds,
    the run's options, tenant A, the default tenant B and app), the targets it lists, and whether tenant A's
    environments are to be discovered (`dynamics.environments: all`)."""

    shared: Settings  # its environment_url is empty: each target brings its own
    targets: tuple[TargetSpec, ...] = ()
    discover: bool = False
    admin_api: str = ""  # dynamics.admin_api: the Power Platform admin API's origin, over the cloud's own

    def settings_for(self, spec: TargetSpec) -> Settings:
        """The settings a single-target audit of `spec` runs with."""
        from dataclasses import replace

        shared = self.shared
        tenant = spec.exchange_tenant or shared.exchange_tenant
        same_tenant = tenant.lower() == shared.exchange_tenant.lower()
        client_id = spec.client_id or shared.client_id
        same_app = bool(shared.client_id) and (client_id or "").lower() == (shared.client_id or "").lower()
        return replace(shared, environment_url=spec.environment_url, profile=spec.profile or shared.profile,
                       exchange_tenant=tenant, client_id=client_id,
                       mailboxes=spec.mailboxes if spec.mailboxes is not None else shared.mailboxes,
                       # the organization config export is exchange.tenant_id's: another tenant B's is not in it
                       org_config_export=shared.org_config_export if same_tenant else None,
                       # app.secret is app.client_id's, in its tenant B: another app's sign-in with it would fail
                       app_secret=shared.app_secret if same_app and same_tenant else None)
