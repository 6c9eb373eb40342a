"""The Sandbox: a local Microsoft cloud (login, Graph, Exchange, Dataverse environments) over HTTPS on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from . import firstparty
from .dataverse import Dataverse
from .directory import Directory, Tenant
from .directorybuilder import build_directory
from .dvenvironment import build_environment
from .entra import Login
from .estate import estate_scenario
from .exchange import Exchange, organization_config
from .faults import Fault, FaultBook
from .graph import Graph
from .httpd import ServiceServer, tls_context
from .identity import FEDERATION_AUDIENCE, IdentityEndpoint, IdentityProviders, Signer
from .pki import Certificate, make_ca, make_server_cert
from .powerplatform import DEFAULT_PAGE_SIZE, Listed, PowerPlatform
from .reactor import DEFAULT_WORKERS, Reactor, allow_open_files
from .requestlog import RequestLog
from .scenario import load


class Sandbox:
    """Start with `with Sandbox("healthy") as cloud:`; every service gets its own origin (port)."""

    def __init__(self, scenario: str | dict[str, Any] = "healthy", *, graph_page_size: int | None = None,
                 port: int = 0, workdir: Path | None = None, latency: float = 0.0,
                 workers: int = DEFAULT_WORKERS, environments: int | None = None,
                 admin_page_size: int = DEFAULT_PAGE_SIZE) -> None:
        """`graph_page_size`: most rows in any Graph page, whatever $top asks (None: Graph's 100, or $top up to
        999); `latency`: seconds added to every request on every service (a standing latency fault; benchmarks);
        `workers`: requests served at once, every origin together; `environments`: serve the estate of that many
        environments (checks/sandbox/estate.py) instead of `scenario`; `admin_page_size`: environments in one
        page of the Power Platform admin API."""
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if environments is not None:
            scenario = estate_scenario(environments, now=self.now)
        self.scenario: dict[str, Any] = load(scenario, self.now) if isinstance(scenario, str) else scenario
        self.estate = environments is not None
        self.directory: Directory = build_directory(self.scenario)
        self.log = RequestLog()
        self.faults = FaultBook()
        self.issuer = Signer()
        self.providers = IdentityProviders()  # external identity providers (workload identity federation)
        self._login: Login | None = None
        self._identity: IdentityEndpoint | None = None
        self._graph_page_size = graph_page_size
        self._admin_page_size = admin_page_size
        self._port = port
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="xtcheck-sandbox-")) if workdir is None else workdir
        self._servers: dict[str, ServiceServer] = {}
        self._workers = workers
        self._reactor: Reactor | None = None
        for raw in self.scenario.get("faults", []):
            self.faults.add(Fault(**raw))
        if latency > 0:
            self.faults.add(Fault("latency", count=None, delay=latency, standing=True))

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ca = make_ca()
        leaf = make_server_cert(ca)
        self.ca_path.write_bytes(ca.cert_pem)
        (self.workdir / "server.pem").write_bytes(leaf.cert_pem + ca.cert_pem)
        (self.workdir / "server.key").write_bytes(leaf.key_pem)
        tls = tls_context(str(self.workdir / "server.pem"), str(self.workdir / "server.key"))
        login = self._login = Login(self.directory, self.issuer, providers=self.providers)
        identity = self._identity = IdentityEndpoint(self.directory, login, self.providers)
        graph = Graph(self.directory, self.issuer, page_cap=self._graph_page_size)
        exchange = Exchange(self.directory, self.issuer)
        services: list[Any] = [login, graph, exchange]
        readers = {r["ref"]: r["appId"] for r in self.scenario.get("readers", [])}
        for raw in self.scenario.get("environments", []):
            if raw.get("dataverse", True):
                environment = build_environment(raw, self.directory, self.now, readers=readers)
                services.append(Dataverse(environment, self.issuer))
        dataverse = services[3:]
        admin = PowerPlatform((), self.issuer, page_size=self._admin_page_size, registered=[
            r["appId"] for r in self.scenario.get("readers", []) if r.get("powerPlatformManagement", True)])
        # Last, so the other services keep their port offsets; the admin API takes a free port even when `port`
        # is given, so a fixed --port still spans the ports it always did.
        services += [identity, admin]
        allow_open_files(2 * len(services) + 1024)  # a listener and a client connection each, and the rest
        reactor = self._reactor = Reactor(self._workers)
        try:
            for offset, service in enumerate(services):
                port = self._port + offset if self._port and service is not admin else 0
                self._servers[service.name] = ServiceServer(service, tls, self.log, self.faults, port,
                                                            reactor=reactor)
        except OSError:
            self.stop()
            raise
        login.origin = self.login_url
        graph.origin = self.graph_url
        exchange.origin = self.exchange_resource
        exchange.login_origin = self.login_url
        for service in dataverse:
            service.origin = self._servers[service.name].origin
            service.login_origin = self.login_url
        identity.origin = self.providers.origin = self.identity_url
        admin.origin = self.admin_url
        admin.environments = self._listed()
        for credentials in self.directory.federated.values():  # every issuer an app trusts has its keys
            for federated in credentials:
                self.providers.signer(federated.issuer)
        login.resources = self._resources()
        reactor.start()
        for server in self._servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._reactor is not None:
            self._reactor.stop()
            self._reactor = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    # -- where things are ---------------------------------------------------------------------------

    @property
    def ca_path(self) -> Path:
        return self.workdir / "ca.pem"

    @property
    def login_url(self) -> str:
        return self._servers["login"].origin

    @property
    def graph_url(self) -> str:
        return self._servers["graph"].origin

    @property
    def exchange_resource(self) -> str:
        return self._servers["exchange"].origin

    @property
    def identity_url(self) -> str:
        """The identity origin: managed identity endpoints and the external identity providers."""
        return self._servers["identity"].origin

    def managed_identity_environment(self, kind: str = "app-service") -> dict[str, str]:
        """The variables an Azure host sets for msal to find its managed identity endpoint: App Service's
        IDENTITY_ENDPOINT and IDENTITY_HEADER, or (kind="imds") the instance metadata service's host."""
        if kind == "imds":
            return {"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.identity_url}
        if self._identity is None:
            raise RuntimeError("start the sandbox first")
        return {"IDENTITY_ENDPOINT": f"{self.identity_url}/msi/token", "IDENTITY_HEADER": self._identity.header_secret}

    @property
    def admin_url(self) -> str:
        """The Power Platform admin API's origin (endpoints.bap); its tokens are for this same URI
        (endpoints.powerapps)."""
        return self._servers["bap"].origin

    def environment_url(self, ref: str | None = None) -> str:
        envs = [e for e in self.scenario.get("environments", []) if e.get("dataverse", True)]
        if not envs:
            raise LookupError(f"scenario {self.scenario['name']!r} has no Dataverse environment")
        server = self._servers.get(f"dataverse:{ref or envs[0]['ref']}")
        if server is None:
            raise LookupError(f"scenario {self.scenario['name']!r} serves no Dataverse environment {ref!r}")
        return server.origin

    def service_name(self, service: str) -> str:
        """The service behind a name or an origin: "graph", "dataverse:<ref>", or the https://127.0.0.1:PORT of
        any of them (one environment among thousands is easiest named by the URL a test already holds)."""
        origin = service.rstrip("/")
        return next((name for name, server in self._servers.items() if server.origin == origin), service)

    def _listed(self) -> list[Listed]:
        """Every environment as the admin API lists it, in the scenario's order."""
        tenants = {t.ref: t.id for t in self.directory.tenants.values()}
        return [Listed(raw["ref"], tenants[raw["tenant"]], raw.get("displayName", raw["ref"]),
                       raw.get("sku", "Production"), raw.get("location", "unitedstates"),
                       self.environment_url(raw["ref"]) if raw.get("dataverse", True) else "")
                for raw in self.scenario.get("environments", [])]

    def tenant(self, ref: str) -> Tenant:
        tenant = next((t for t in self.directory.tenants.values() if t.ref == ref), None)
        if tenant is None:
            raise LookupError(f"scenario {self.scenario['name']!r} has no tenant {ref!r}")
        return tenant

    def certificate(self, name: str) -> Certificate:
        return self.directory.named_certificates[name]

    def _resources(self) -> dict[str, str]:
        mapping = {firstparty.GRAPH.public_uri: "graph", firstparty.EXCHANGE.public_uri: "exchange",
                   self.graph_url: "graph", self.exchange_resource: "exchange",
                   firstparty.POWERAPPS.public_uri: "powerapps", self.admin_url: "powerapps"}
        mapping.update({r.app_id: r.key for r in firstparty.RESOURCES.values()})
        mapping.update({s.origin: "dataverse" for n, s in self._servers.items() if n.startswith("dataverse:")})
        return {uri.lower(): key for uri, key in mapping.items()}

    # -- test helpers -------------------------------------------------------------------------------

    def add_fault(self, kind: str, **options: Any) -> Fault:
        """Inject a fault, e.g. `add_fault("throttle", service="graph", path="/servicePrincipals", retry_after=1)`;
        `service` may be a service's name or origin (`service=cloud.environment_url("env-00042")`)."""
        if isinstance(options.get("service"), str):
            options["service"] = self.service_name(options["service"])
        return self.faults.add(Fault(kind, **options))

    def federated_token(self, issuer: str | None = None, subject: str | None = None, *,
                        audience: str = FEDERATION_AUDIENCE, lifetime: int = 600, reader: str | None = None) -> str:
        """A token of an external identity provider, as a CI job or a pod gets it: by default for the first
        federated credential of `reader` (default: the first reader that has one); negative lifetime: expired."""
        if issuer is None or subject is None:
            credential = self._federated_credential(reader)
            issuer, subject = issuer or credential["issuer"], subject or credential["subject"]
        return self.providers.mint(issuer, subject, audience=audience, lifetime=lifetime)

    def approve_device_code(self, user_code: str, user: str | None = None) -> None:
        """The admin opens the verification page, enters `user_code` and signs in (as `user`, default the
        scenario's admin for that tenant)."""
        self._started_login().device_flows.approve(user_code, user)

    def pending_device_codes(self) -> list[str]:
        """User codes waiting for an admin to approve them."""
        return self._started_login().device_flows.pending()

    def issued_device_codes(self) -> list[str]:
        """Every device code the login service handed out (secrets: they must never show in xtcheck's output)."""
        return list(self._started_login().device_flows.issued)

    def _started_login(self) -> Login:
        if self._login is None:
            raise RuntimeError("start the sandbox first")
        return self._login

    def _federated_credential(self, reader: str | None) -> dict[str, Any]:
        for raw in self.scenario.get("readers", []):
            if (reader is None or raw["ref"] == reader) and raw.get("federatedIdentityCredentials"):
                credential: dict[str, Any] = raw["federatedIdentityCredentials"][0]
                return credential
        raise LookupError(f"scenario {self.scenario['name']!r} has no reader with a federated credential"
                          + (f" named {reader!r}" if reader else ""))

    def issue_token(self, tenant_ref: str, app_id: str, audience: str, *, roles: list[str] | None = None,
                    lifetime: int = 3599) -> str:
        """A token as the login service would issue it, with any lifetime (negative: already expired)."""
        tenant = self.tenant(tenant_ref)
        sp = self.directory.service_principal(tenant.id, app_id)
        return self.issuer.mint(issuer=f"{self.login_url}/{tenant.id}/v2.0", tenant_id=tenant.id,
                                audience=audience, app_id=app_id.lower(), object_id=sp["id"] if sp else app_id,
                                roles=roles or [], credential_type=1, lifetime=lifetime,
                                not_before_skew=max(300, -lifetime + 300))

    # -- a ready xtcheck config ---------------------------------------------------------------------

    def write_config(self, path: Path | None = None, *, estate: bool | None = None, targets: bool = False) -> Path:
        """An xtcheck config file for this scenario (secrets as file: references beside it). `estate` (default:
        whether this sandbox serves an estate) writes `dynamics.environments: all`, so xtcheck discovers the
        environments through the admin API; `targets` lists every cross-tenant profile under `targets:` instead."""
        path = path or self.workdir / "xtcheck.yaml"
        wanted = self.estate if estate is None else estate
        config = self.estate_config(targets=targets) if wanted or targets else self.config()
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    def estate_config(self, *, targets: bool = False) -> dict[str, Any]:
        """The config of an estate audit: tenant A's environments discovered (`dynamics.environments: all`), or,
        with `targets`, listed under `targets:` as an operator would (an environment the reader cannot read
        included); the admin API's origin as endpoints.bap and endpoints.powerapps."""
        config = self.config()
        config.pop("app", None)
        config["dynamics"] = {"tenant_id": config["dynamics"]["tenant_id"]}
        if targets:
            config["targets"] = self._targets()
        else:
            config["dynamics"]["environments"] = "all"
        config["endpoints"].update(bap=self.admin_url, powerapps=self.admin_url)
        return config

    def _targets(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for raw in self.scenario.get("environments", []):
            if not raw.get("dataverse", True):
                continue
            profiles = [p for p in raw.get("emailserverprofiles", []) if p.get("oauthclientid")
                        and p.get("statecode", 0) == 0]
            for profile in profiles:
                name = raw["ref"] if len(profiles) == 1 else f"{raw['ref']} · {profile['name']}"
                found.append({"name": name, "environment_url": self.environment_url(raw["ref"]),
                              "profile": profile["name"], "exchange_tenant": profile["exchangeonlinetenantid"],
                              "client_id": profile["oauthclientid"]})
        return found

    def config(self) -> dict[str, Any]:
        audit = self.scenario.get("audit", {})
        env = (self.scenario.get("environments") or [{}])[0]
        dynamics_tenant = self.tenant(env["tenant"]).id if env else None
        exchange = audit.get("exchangeTenant", "B")
        exchange_id = self.tenant(exchange).id if any(t.ref == exchange for t in
                                                      self.directory.tenants.values()) else exchange
        config: dict[str, Any] = {
            "dynamics": {"environment_url": self.environment_url(), "tenant_id": dynamics_tenant},
            "exchange": {"tenant_id": exchange_id},
        }
        org_config = audit.get("orgConfig", "none")
        exported = self._org_config_tenant(exchange) if org_config == "export" else None
        if exported is not None:
            config["exchange"]["org_config_export"] = str(self._write_org_config(exported))
        elif org_config == "admin-api":
            config["exchange"]["admin_api"] = True
        if audit.get("profile"):
            config["dynamics"]["profile"] = audit["profile"]
        app = self.directory.application(audit["clientId"]) if audit.get("clientId") else None
        if audit.get("clientId"):
            config["app"] = {"client_id": audit["clientId"]}
        secret = audit.get("appSecret")
        if secret is None and app is not None and self.directory.secrets.get(app["appId"]):
            secret = self.directory.secrets[app["appId"]][-1].value
        if secret is not None:
            config.setdefault("app", {})["secret"] = f"file:{self._secret_file('app', secret)}"
        config["mailboxes"] = audit.get("mailboxes", "all")
        config["cloud"] = "custom"
        config["endpoints"] = {"login": self.login_url, "graph": self.graph_url,
                               "exchange_resource": self.exchange_resource}
        config["tls"] = {"ca_bundle": str(self.ca_path)}
        config["credentials"] = self._credentials()
        return config

    def _org_config_tenant(self, exchange: str) -> Tenant | None:
        """Whose organization config the operator exported: the Exchange tenant's; when the audit names a tenant
        that does not exist (a typo), still tenant B's, the organization they actually ran PowerShell in."""
        by_ref = {t.ref: t for t in self.directory.tenants.values()}
        return by_ref.get(exchange) or self.directory.tenant(exchange) or by_ref.get("B")

    def _write_org_config(self, tenant: Tenant) -> Path:
        """`Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | ConvertTo-Json > org-config.json`."""
        path = (self.workdir / "org-config.json").resolve()
        path.write_text(json.dumps(organization_config(tenant), indent=2) + "\n", encoding="utf-8")
        return path

    def _credentials(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for reader in self.scenario.get("readers", []):
            for tenant_ref in reader.get("grants", {}):
                entry: dict[str, Any] = {"tenant_id": self.tenant(tenant_ref).id, "client_id": reader["appId"]}
                if "secret" in reader:
                    entry["client_secret"] = f"file:{self._secret_file(reader['ref'], reader['secret'])}"
                elif "certificate" in reader:
                    cert = self.certificate(reader["certificate"])
                    pem = self.workdir / f"{reader['certificate']}.pem"
                    pem.write_bytes(cert.key_pem + cert.cert_pem)
                    pem.chmod(0o600)
                    entry["certificate"] = {"path": str(pem)}
                elif reader.get("federatedIdentityCredentials"):
                    token = self.federated_token(reader=reader["ref"], lifetime=3600)
                    entry["federated_token_file"] = str(self._secret_file(f"{reader['ref']}.federated", token))
                elif "deviceCode" in reader:
                    entry["device_code"] = True
                elif reader.get("managedIdentity") == "system":
                    entry = {"tenant_id": entry["tenant_id"], "managed_identity": True}
                elif reader.get("managedIdentity") == "user":
                    entry = {"tenant_id": entry["tenant_id"], "managed_identity": {"client_id": reader["appId"]}}
                entries.append(entry)
        return entries

    def _secret_file(self, name: str, value: str) -> Path:
        path = self.workdir / f"{name}.secret"
        path.write_text(value, encoding="utf-8")
        path.chmod(0o600)
        return path
