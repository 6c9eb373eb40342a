"""A hand-written minimal client: the reads `xtcheck audit` makes, each started as soon as what it needs is known.

Run: python tests/bench/minimal_client.py --config XTCHECK.yaml   (the config `Sandbox.write_config` writes; it must
name the profile, `dynamics.profile`, and read every mailbox, `mailboxes: all`).
Prints one JSON line: requests made, its own wall time and time to first request (from the first line of this
script), the monotonic clock at both (the benchmark compares them with the sandbox's request log), which mailbox
query it used, and how many rows each read decoded.

It is what audit_bench.py compares the whole `xtcheck audit` command with. The reads are xtcheck's own, from the
sandbox's request log of a real run (healthy scenario), each decoded as JSON as xtcheck decodes it; it judges
nothing. What it does better, where it can:
- msal apps share one `http_cache`, so each tenant's OIDC discovery is read once (and kept as EXO-004's evidence)
  instead of once per app;
- tenant A and tenant B are read in parallel threads; within a tenant every read starts when its own inputs are
  known, with no bound on requests in flight: the sync app's own sign-in (EXO-003) right after tenant B's discovery;
  the mailboxes filtered by the profile's NAME through the navigation property, while the profile is read beside it;
- after the service principal, its appRoleAssignments and the application (in the tenant that owns it) together.
Where the navigation filter is refused (400; the sandbox before it learnt it), the mailboxes are read by the profile's
id once the profile is read (one more round trip on that chain), and the JSON line says which query was used.
"""

# ruff: noqa: E402 (the clock is read before the other imports: they are part of what the client costs)
from __future__ import annotations

import time

STARTED = time.monotonic()  # before the imports: the parent compares this with its own clock at spawn

import argparse
import base64
import datetime as dt
import json
import ssl
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import msal
import yaml

# The columns xtcheck's probes ask for (checks/probes/*.py), written out: this client imports nothing of xtcheck.
PROFILE_COLUMNS = (
    "name,servertype,emailservertypename,serverauthority,exchangeonlinetenantid,usedefaulttenantid,oauthclientid,"
    "isoauthclientsecretset,aadresourceid,incomingcredentialretrieval,outgoingcredentialretrieval,"
    "incomingauthenticationprotocol,outgoingauthenticationprotocol,lasttestexecutionstatus,"
    "lasttestvalidationstatus,lastauthorizationstatus,lastteststarttime,lastcrmmessage,statecode,modifiedon")
MAILBOX_COLUMNS = (
    "name,emailaddress,_emailserverprofile_value,_regardingobjectid_value,regardingobjecttypecode,"
    "emailrouteraccessapproval,isemailaddressapprovedbyo365admin,incomingemaildeliverymethod,"
    "outgoingemaildeliverymethod,actdeliverymethod,incomingemailstatus,outgoingemailstatus,actstatus,mailboxstatus,"
    "enabledforincomingemail,enabledforoutgoingemail,enabledforact,testemailconfigurationscheduled,"
    "testmailboxaccesscompletedon,lastsuccessfulsynccompletedon,lastsyncerror,lastsyncerrorcode,lastsyncerroroccurredon,"
    "isforwardmailbox,statecode")
ALERT_COLUMNS = "text,level,tracecode,errordetails,errortypedisplay,createdon,modifiedon,_regardingobjectid_value"
ORGANIZATION_COLUMNS = "name,requireapprovalforuseremail,requireapprovalforqueueemail"
SP_COLUMNS = ("id,appId,displayName,accountEnabled,appOwnerOrganizationId,servicePrincipalType,signInAudience,"
              "passwordCredentials,disabledByMicrosoftStatus")
RESOURCE_SP_COLUMNS = "id,appId,displayName,appRoles"
APP_COLUMNS = ("id,appId,displayName,signInAudience,passwordCredentials,keyCredentials,requiredResourceAccess,"
               "createdDateTime,publisherDomain,disabledByMicrosoftStatus")
USER_COLUMNS = "id,userPrincipalName,mail,proxyAddresses,accountEnabled,assignedPlans"
POLICY_COLUMNS = "id,displayName,state,conditions,grantControls"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ALERT_LOOKBACK_DAYS = 7  # xtcheck's default (thresholds.alert_lookback_days); the bench config sets none
DATAVERSE_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0",
                     "Prefer": "odata.maxpagesize=5000"}  # xtcheck's default page size (http.dataverse_page_size)


class Wire:
    """An httpx client per origin for every request (msal's too), counting them and noting when the first one left.
    A client per origin, as xtcheck's transport keeps a pool per origin: one pool shared by 500 origins closes
    connections another thread has just started a request on (encode/httpcore#1110), and scans every connection
    for each request."""

    def __init__(self, ca_bundle: str) -> None:
        self._context = ssl.create_default_context(cafile=ca_bundle)
        self._clients: dict[str, httpx.Client] = {}
        self.requests = 0
        self.first: float | None = None
        self.documents: dict[str, dict[str, Any]] = {}  # OIDC discovery documents msal read, by URL
        self._lock = threading.Lock()

    def _sent(self, request: httpx.Request) -> None:
        with self._lock:
            self.requests += 1
            if self.first is None:
                self.first = time.monotonic()

    def client(self, url: str) -> httpx.Client:
        origin = httpx.URL(url).copy_with(path="/", query=None, fragment=None)
        key = f"{origin.scheme}://{origin.netloc.decode()}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = httpx.Client(verify=self._context, timeout=600,
                                                  event_hooks={"request": [self._sent]})
            return self._clients[key]

    # msal's http_client interface: get, post, close
    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        response = self.client(url).get(url, params=params, headers=headers)
        if url.endswith("/.well-known/openid-configuration") and response.status_code == 200:
            self.documents[url] = response.json()
        return response

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self.client(url).post(url, params=params, data=data, headers=headers)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


class Api:
    """GETs against one service root with one token: an object, an optional object, every page of a collection."""

    def __init__(self, wire: Wire, root: str, token: str, headers: Mapping[str, str]) -> None:
        self.wire, self.root = wire, root
        self.headers = {**headers, "Authorization": f"Bearer {token}"}

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._get(f"{self.root}/{path}", params)

    def optional(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        try:
            return self.get(path, params)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return None
            raise

    def all(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        body = self.get(path, params)
        items: list[dict[str, Any]] = body["value"]
        while link := body.get("@odata.nextLink"):
            body = self._get(link, None)
            items.extend(body["value"])
        return items

    def _get(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        response = self.wire.client(url).get(url, params=params, headers=self.headers)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


class SignIn:
    """msal confidential clients, one per (client id, tenant), all sharing one http_cache: discovery once per
    authority."""

    def __init__(self, wire: Wire, login: str, secrets: Mapping[tuple[str, str], str]) -> None:
        self.wire, self.login, self.secrets = wire, login.rstrip("/"), secrets
        self.cache: dict[Any, Any] = {}
        self.apps: dict[tuple[str, str], Any] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.lock = threading.Lock()

    def app(self, client_id: str, tenant: str) -> Any:
        with self.lock:
            lock = self.locks.setdefault(tenant, threading.Lock())
        with lock:  # a tenant's apps are built in turn, so its discovery is read once; other tenants' in parallel
            if (client_id, tenant) not in self.apps:
                self.apps[(client_id, tenant)] = msal.ConfidentialClientApplication(
                    client_id, client_credential=self.secrets[(client_id, tenant)],
                    authority=f"{self.login}/{tenant}", http_client=self.wire, http_cache=self.cache,
                    azure_region=False, instance_discovery=False)
            return self.apps[(client_id, tenant)]

    def token(self, client_id: str, tenant: str, resource: str) -> str:
        result = self.app(client_id, tenant).acquire_token_for_client([f"{resource.rstrip('/')}/.default"])
        if "access_token" not in result:
            raise SystemExit(f"sign-in of {client_id} to {tenant} failed: {result.get('error_description')}")
        token: str = result["access_token"]
        return token

    def discovery(self, tenant: str) -> dict[str, Any]:
        return self.wire.documents[f"{self.login}/{tenant}/v2.0/.well-known/openid-configuration"]


class Run:
    """One audit's reads: the config, the wire, the sign-ins and a thread pool big enough never to queue a read."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.wire = Wire(config["tls"]["ca_bundle"])
        secrets = {(c["client_id"], c["tenant_id"]): secret(c["client_secret"]) for c in config["credentials"]}
        self.readers = {c["tenant_id"]: c["client_id"] for c in config["credentials"]}
        self.app_id: str = config["app"]["client_id"]
        self.tenant_a: str = config["dynamics"]["tenant_id"]
        self.tenant_b: str = config["exchange"]["tenant_id"]
        secrets[(self.app_id, self.tenant_b)] = secret(config["app"]["secret"])
        self.sign_in = SignIn(self.wire, config["endpoints"]["login"], secrets)
        self.pool = ThreadPoolExecutor(max_workers=32)

    def later(self, function: Any, *args: Any) -> Future[Any]:
        return self.pool.submit(function, *args)

    def graph(self, tenant: str) -> Api:
        root = self.config["endpoints"]["graph"].rstrip("/")
        token = self.sign_in.token(self.readers[tenant], tenant, root)
        return Api(self.wire, f"{root}/v1.0", token, {"Accept": "application/json"})


def secret(reference: str) -> str:
    """A `file:PATH` reference as the sandbox writes them."""
    return Path(reference.removeprefix("file:")).read_text(encoding="utf-8").strip()


def read_dynamics(run: Run) -> dict[str, Any]:
    """Tenant A: sign in, then the mailboxes (by the profile's name), the profile, the alerts and the organization."""
    environment = run.config["dynamics"]["environment_url"].rstrip("/")
    token = run.sign_in.token(run.readers[run.tenant_a], run.tenant_a, environment)
    dataverse = Api(run.wire, f"{environment}/api/data/v9.2", token, DATAVERSE_HEADERS)
    name = run.config["dynamics"]["profile"]
    quoted = name.replace("'", "''")
    profile = run.later(dataverse.all, "emailserverprofiles",
                        {"$select": PROFILE_COLUMNS, "$filter": f"name eq '{quoted}'"})
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=ALERT_LOOKBACK_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    alerts = run.later(dataverse.all, "tracelogs", {"$select": ALERT_COLUMNS,
                                                    "$filter": f"level ge 2 and modifiedon ge {since}",
                                                    "$orderby": "modifiedon desc"})
    organization = run.later(dataverse.all, "organizations", {"$select": ORGANIZATION_COLUMNS})
    scope = "statecode eq 0 and isforwardmailbox eq false"
    try:
        mailboxes = dataverse.all("mailboxes", {"$select": MAILBOX_COLUMNS,
                                                "$filter": f"emailserverprofile/name eq '{quoted}' and {scope}"})
        query = "navigation filter (emailserverprofile/name)"
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 400:
            raise
        profile_id = profile.result()[0]["emailserverprofileid"]
        mailboxes = dataverse.all("mailboxes", {"$select": MAILBOX_COLUMNS,
                                                "$filter": f"_emailserverprofile_value eq {profile_id} and {scope}"})
        query = "profile id after the profile (the sandbox answered 400 to the navigation filter)"
    return {"mailbox_query": query, "mailboxes": mailboxes, "profiles": profile.result(),
            "alerts": alerts.result(), "organization": organization.result()}


def read_exchange_tenant(run: Run, live_probe: bool = True, users: bool = True) -> dict[str, Any]:
    """Tenant B: discovery once, then the sync app's own sign-in beside the reader's (when its secret is known),
    then the Graph reads (the users too, unless an estate reads them once for the tenant: `users`)."""
    reader = run.readers[run.tenant_b]
    run.sign_in.app(reader, run.tenant_b)  # tenant B's discovery, shared by the sync app's sign-in
    live = run.later(live_sign_in, run) if live_probe else None
    graph = run.graph(run.tenant_b)
    reads = {
        "graph_resource_sp": run.later(graph.optional, f"servicePrincipals(appId='{GRAPH_APP_ID}')",
                                       {"$select": RESOURCE_SP_COLUMNS}),
        "exchange_resource_sp": run.later(graph.optional, f"servicePrincipals(appId='{EXCHANGE_APP_ID}')",
                                          {"$select": RESOURCE_SP_COLUMNS}),
        "domains": run.later(graph.all, "domains", {"$select": "id,isVerified,isDefault"}),
        "policies": run.later(graph.all, "identity/conditionalAccess/policies", {"$select": POLICY_COLUMNS}),
    }
    if users:
        reads["users"] = run.later(read_users, graph)
    sp = graph.optional(f"servicePrincipals(appId='{run.app_id}')", {"$select": SP_COLUMNS})
    grants = run.later(graph.all, f"servicePrincipals/{sp['id']}/appRoleAssignments") if sp else None
    application = read_application(run, graph, sp)
    return {"discovery": run.sign_in.discovery(run.tenant_b), "client_sp": sp,
            "live_token": live.result() if live else {}, "grants": grants.result() if grants else [],
            "application": application,
            **{name: read.result() for name, read in reads.items()}}


def read_users(graph: Api) -> list[dict[str, Any]]:
    """Every user of tenant B (MBX-006's evidence), 999 a page."""
    return graph.all("users", {"$select": USER_COLUMNS, "$top": "999"})


def read_application(run: Run, graph: Api, sp: dict[str, Any] | None) -> dict[str, Any] | None:
    """The app registration in the tenant its service principal names as owner (B, else A, without one)."""
    owner = str((sp or {}).get("appOwnerOrganizationId") or "").lower()
    tenants = [owner] if owner else [run.tenant_b, run.tenant_a]
    for tenant in tenants:
        api = graph if tenant == run.tenant_b else run.graph(tenant)
        found = api.optional(f"applications(appId='{run.app_id}')", {"$select": APP_COLUMNS})
        if found is not None:
            return found
    return None


def live_sign_in(run: Run) -> dict[str, Any]:
    """EXO-003's evidence: the sync app signs in to tenant B for Exchange with its own secret; the token's claims."""
    token = run.sign_in.token(run.app_id, run.tenant_b, run.config["endpoints"]["exchange_resource"])
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--config", required=True, type=Path, help="the xtcheck.yaml the sandbox wrote")
    config = yaml.safe_load(parser.parse_args().config.read_text(encoding="utf-8"))
    if config.get("mailboxes", "all") != "all" or not config["dynamics"].get("profile"):
        raise SystemExit("the config must name the profile (dynamics.profile) and read every mailbox")
    run = Run(config)
    export = config["exchange"].get("org_config_export")
    org_config = json.loads(Path(export).read_text(encoding="utf-8-sig")) if export else None  # EWS-001's evidence
    with run.pool:
        dynamics = run.later(read_dynamics, run)
        exchange = run.later(read_exchange_tenant, run)
        a, b = dynamics.result(), exchange.result()
    finished = time.monotonic()
    run.wire.close()
    first = run.wire.first or finished
    print(json.dumps({
        "requests": run.wire.requests, "wall_s": round(finished - STARTED, 4),
        "first_request_s": round(first - STARTED, 4), "started": STARTED, "first_request_at": first,
        "mailbox_query": a["mailbox_query"], "org_config": org_config is not None,
        "live_token": bool(b["live_token"].get("roles")),
        "rows": {"mailboxes": len(a["mailboxes"]), "alerts": len(a["alerts"]), "profiles": len(a["profiles"]),
                 "users": len(b["users"]), "grants": len(b["grants"]), "policies": len(b["policies"]),
                 "domains": len(b["domains"])},
    }))


if __name__ == "__main__":
    main()
