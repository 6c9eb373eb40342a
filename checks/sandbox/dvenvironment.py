"""A Dataverse environment's data, built from a scenario: its tables, application users and generated mailboxes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .directory import Directory, Tenant, derived_id
from .dvmodel import TABLES
from .dvvalues import normalize_row
from .graphusers import generated_address, mail_domain

_NO_READERS: Mapping[str, str] = MappingProxyType({})

Row = dict[str, Any]


@dataclass
class Environment:
    """One Dataverse environment: its tables (normalized rows, never mutated) and its application users."""

    ref: str
    tenant_id: str
    organization_id: str
    business_unit_id: str
    tables: dict[str, list[Row]]
    application_users: dict[str, tuple[str, frozenset[str]]]  # appId (lower) -> (systemuserid, privileges)
    index: dict[str, dict[str, Row]] = field(default_factory=dict)  # logical name -> id -> row

    def __post_init__(self) -> None:
        for entity_set, table in TABLES.items():
            rows = self.tables.setdefault(entity_set, [])
            self.index[table.logical_name] = {row[table.primary_id]: row for row in rows}


def _tenant(directory: Directory, ref: str) -> Tenant:
    tenant = next((t for t in directory.tenants.values() if t.ref == ref), None)
    if tenant is None:
        raise ValueError(f"environment tenant {ref!r} is not declared under 'tenants'")
    return tenant


def _normalized(entity_set: str, raws: Iterable[Mapping[str, Any]], env_ref: str,
                **defaults: Any) -> list[Row]:
    table = TABLES[entity_set]
    try:
        return [normalize_row(table, {**defaults, **raw}) for raw in raws]
    except ValueError as exc:
        raise ValueError(f"environment {env_ref!r}, {entity_set}: {exc}") from None


def _reader_app_id(reader_ref: str, directory: Directory, readers: Mapping[str, str]) -> str:
    if reader_ref in readers:
        return readers[reader_ref].lower()
    # Without `readers`, fall back to the directory's only reader application (its id is derived from appId).
    reader_apps = [app["appId"] for app in directory.applications.values()
                   if app["id"] == derived_id("reader-app", app["appId"])]
    if len(reader_apps) != 1:
        raise ValueError(f"application user {reader_ref!r}: pass readers={{ref: appId}} to build_environment")
    return str(reader_apps[0]).lower()


def _application_users(raw: Mapping[str, Any], directory: Directory, readers: Mapping[str, str],
                       business_unit: str) -> tuple[dict[str, tuple[str, frozenset[str]]], list[Row]]:
    users: dict[str, tuple[str, frozenset[str]]] = {}
    rows: list[Row] = []
    for entry in raw.get("applicationUsers", []):
        app_id = _reader_app_id(entry["reader"], directory, readers)
        user_id = derived_id("dataverse-application-user", raw["ref"], app_id)
        users[app_id] = (user_id, frozenset(entry["privileges"]))
        rows.append({"systemuserid": user_id, "fullname": f"# {entry['reader']}", "applicationid": app_id,
                     "accessmode": 4, "isdisabled": False, "_businessunitid_value": business_unit})
    return users, rows


def _before(now: dt.datetime, **delta: float) -> str:
    return (now - dt.timedelta(**delta)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _generate(tables: dict[str, list[Row]], spec: Mapping[str, Any], env_ref: str, now: dt.datetime,
              tenant: Tenant) -> None:
    """Append synthetic healthy mailboxes and information-level alerts (a normalized template, copied); the
    directory gives each mailbox's address an Entra user (tenantbuilder.add_generated_users)."""
    profiles = tables["emailserverprofiles"]
    profile = next((p for p in profiles if p.get("oauthclientid")), profiles[0] if profiles else None)
    domain = mail_domain(tables["mailboxes"], tenant.verified_domains())
    mailbox = normalize_row(TABLES["mailboxes"], {
        "mailboxid": derived_id("generated-mailbox", env_ref, "template"),
        "_emailserverprofile_value": profile["emailserverprofileid"] if profile else None,
        "regardingobjecttypecode": "systemuser",
        "testmailboxaccesscompletedon": _before(now, days=30),
        "emailaddressapprovedon": _before(now, days=31),
        "lastsuccessfulsynccompletedon": _before(now, minutes=12),
        "lastsyncstartedon": _before(now, minutes=13),
        "createdon": _before(now, days=200), "modifiedon": _before(now, days=30),
    })
    alert = normalize_row(TABLES["tracelogs"], {
        "tracelogid": derived_id("generated-tracelog", env_ref, "template"), "level": 1, "tracecode": 0,
        "regardingobjecttypecode": "mailbox", "tracestatus": True,
    })
    per_mailbox = int(spec.get("alerts_per_mailbox", 0))
    stamps = [_before(now, hours=j + 1) for j in range(per_mailbox)]
    new_mailboxes, new_alerts = tables["mailboxes"], tables["tracelogs"]
    for i in range(1, int(spec["mailboxes"]) + 1):
        mailbox_id = derived_id("generated-mailbox", env_ref, str(i))
        address = generated_address(i, domain)
        new_mailboxes.append({
            **mailbox, "mailboxid": mailbox_id, "name": f"User {i:05d}", "emailaddress": address,
            "_regardingobjectid_value": derived_id("generated-user", env_ref, str(i))})
        text = f"Mailbox {address} synchronized successfully."
        for j, stamp in enumerate(stamps):
            new_alerts.append({
                **alert, "tracelogid": derived_id("generated-tracelog", env_ref, str(i), str(j)),
                "text": text, "_regardingobjectid_value": mailbox_id, "createdon": stamp,
                "modifiedon": stamp})


def build_environment(raw: dict[str, Any], directory: Directory, now: dt.datetime, *,
                      readers: Mapping[str, str] = _NO_READERS) -> Environment:
    """An Environment from a scenario's `environments` item; `readers` maps reader ref -> appId."""
    ref = raw["ref"]
    tenant = _tenant(directory, raw["tenant"])
    organization = _normalized("organizations", [raw["organization"]], ref,
                               organizationid=derived_id("dataverse-organization", ref))[0]
    org_id = organization["organizationid"]
    business_unit = derived_id("dataverse-business-unit", ref)
    users, user_rows = _application_users(raw, directory, readers, business_unit)
    tables = {
        "organizations": [organization],
        "emailserverprofiles": _normalized("emailserverprofiles", raw.get("emailserverprofiles", []), ref,
                                           _organizationid_value=org_id),
        "mailboxes": _normalized("mailboxes", raw.get("mailboxes", []), ref),
        "tracelogs": _normalized("tracelogs", raw.get("tracelogs", []), ref),
        "systemusers": _normalized("systemusers", [*raw.get("systemusers", []), *user_rows], ref),
    }
    if raw.get("generate"):
        _generate(tables, raw["generate"], ref, now, tenant)
    return Environment(ref, tenant.id, org_id, business_unit, tables, users)
