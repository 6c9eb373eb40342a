"""How fast the sandbox serves a large environment: start-up, tokens, and paging every mailbox.

Run: python tests/bench/bench_sandbox.py [MAILBOXES ...]   (default: 1000 20000)
Prints figures; asserts nothing about time (tests assert behaviour, benchmarks measure).
"""

from __future__ import annotations

import datetime as dt
import ssl
import statistics
import sys
import time

import httpx
import msal

from checks.http.msalhttp import MsalHttpClient
from checks.sandbox.scenario import load
from checks.sandbox.server import Sandbox

READER = "4d5e6f70-8192-4a3b-bc4d-5e6f708192a3"
READER_SECRET = "sandbox-reader-secret-8f3k2q"  # the healthy scenario's throwaway reader secret
SELECT = ("name,emailaddress,_emailserverprofile_value,emailrouteraccessapproval,incomingemaildeliverymethod,"
          "outgoingemaildeliverymethod,actdeliverymethod,incomingemailstatus,outgoingemailstatus,actstatus,"
          "mailboxstatus,lastsuccessfulsynccompletedon,statecode,isforwardmailbox")


def bench(mailboxes: int) -> None:
    scenario = load("healthy", dt.datetime.now(dt.UTC))
    scenario["environments"][0]["generate"] = {"mailboxes": mailboxes}
    started = time.perf_counter()
    with Sandbox(scenario) as cloud:
        startup = time.perf_counter() - started
        context = ssl.create_default_context(cafile=str(cloud.ca_path))
        with httpx.Client(verify=context, timeout=60) as http:
            app = msal.ConfidentialClientApplication(
                READER, client_credential=READER_SECRET, authority=f"{cloud.login_url}/{cloud.tenant('A').id}",
                http_client=MsalHttpClient(http), azure_region=False, instance_discovery=False,
                token_cache=msal.TokenCache())
            t0 = time.perf_counter()
            token = app.acquire_token_for_client([f"{cloud.environment_url()}/.default"])["access_token"]
            token_ms = (time.perf_counter() - t0) * 1000
            durations = []
            for _ in range(3):
                cloud.log.clear()
                t0 = time.perf_counter()
                rows = page_all(http, cloud.environment_url(), token)
                durations.append(time.perf_counter() - t0)
            pages = len(cloud.log.entries())
    best = min(durations)
    print(f"mailboxes={mailboxes:>6}  startup={startup:6.2f}s  token={token_ms:6.1f}ms  "
          f"rows={rows:>6}  pages={pages:>3}  read={best:6.3f}s (median {statistics.median(durations):.3f}s)  "
          f"{rows / best:>9,.0f} rows/s")


def page_all(http: httpx.Client, environment: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.maxpagesize=5000",
               "Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"}
    url: str | None = f"{environment}/api/data/v9.2/mailboxes?$select={SELECT}&$filter=statecode eq 0"
    rows = 0
    while url:
        response = http.get(url, headers=headers)
        response.raise_for_status()
        body = response.json()
        rows += len(body["value"])
        url = body.get("@odata.nextLink")
    return rows


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [1000, 20000]:
        bench(n)
