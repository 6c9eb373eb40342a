"""What a run's evidence says about the run itself: the ids fixes are written from, the names people recognise, and
what each set-wide read covered. Pure functions of what was read: none of them reads anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .model import RunIds
from .outside import outside
from .settings import Settings


def run_ids(settings: Settings, collected: Mapping[str, Any]) -> RunIds:
    """The ids remediation is built from (what was read cleaned as findings keep it: checks/outside.py); whatever
    was not read stays as configured (or empty)."""
    application = collected.get("application") or {}
    selection = collected.get("email_server_profile") or {}
    exchange = collected.get("exchange_tenant_id") or settings.exchange_tenant
    now = collected.get("now")
    return RunIds(
        client_id=outside(collected.get("client_id") or settings.client_id or ""), exchange_tenant=outside(exchange),
        dynamics_tenant=settings.dynamics_tenant, home_tenant=outside(application.get("home_tenant") or exchange),
        environment_url=settings.environment_url, login_host=settings.cloud.login, graph_host=settings.cloud.graph,
        portal_host=settings.cloud.portal,
        profile=outside(str((selection.get("match") or {}).get("name") or settings.profile or "")),
        now=now if isinstance(now, dt.datetime) else None,
    )


def display_names(collected: Mapping[str, Any]) -> dict[str, str]:
    """Names people recognise, from what was read anyway (no extra request, no extra permission)."""
    names = {}
    app = (collected.get("application") or {}).get("object") or {}
    if app.get("displayName"):
        names["app"] = str(app["displayName"])
    organization = collected.get("organization_settings") or {}
    if organization.get("name"):
        names["environment"] = str(organization["name"])
    return {key: outside(name) for key, name in names.items()}


def completeness(collected: Mapping[str, Any]) -> tuple[str, ...]:
    """What each set-wide read covered, said plainly (a read that failed raised before getting here)."""
    statements = []
    mailboxes = collected.get("mailboxes")
    if mailboxes and mailboxes.get("profile"):
        rows, pages, name = len(mailboxes["rows"]), mailboxes["pages"], mailboxes["profile"]["name"]
        if mailboxes["scope"] == "all":
            statements.append(f"checked {rows} of {rows} active mailboxes on profile {name}, all pages read "
                              f"({pages} page{'s' if pages != 1 else ''})")
        else:
            listed, missing = len(mailboxes["scope"]), len(mailboxes["missing"])
            statements.append(f"checked {listed - missing} of {listed} listed mailboxes ({missing} not found in "
                              f"Dynamics), all pages read")
    assignments = collected.get("app_role_assignments")
    if assignments is not None and collected.get("client_service_principal"):
        statements.append(f"read {len(assignments)} application permission grants of the app in tenant B, "
                          "all pages read")
    return tuple(outside(statements))
