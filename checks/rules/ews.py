"""The check on Exchange Web Services in tenant B: the organization still lets the app use EWS until Microsoft switches
EWS off for good, with a forecast of that date and of the move to Microsoft Graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..model import CheckResult, Outcome, Remediation, RunIds, Severity, Status, failed, passed, skipped, warned
from ..probes.exchange import EXPORT_COMMAND
from ..registry import check
from . import day, missing_graph_roles, same_id
from .graph import grant_graph_roles
from .sources import EWS_ACCESS, EWS_RETIREMENT, EWS_USAGE_REPORT, FORBIDDEN_ARTICLE, SET_ORG_CONFIG

EWS_NULL_SWITCH = datetime(2026, 10, 1, tzinfo=UTC)  # tenants left at EwsEnabled null are switched to False
EWS_SHUTDOWN = datetime(2027, 4, 1, tzinfo=UTC)  # EWS in Exchange Online is switched off for good
ACCESS_SUBJECT = "EWS access in tenant B"
RETIREMENT_SUBJECT = "EWS retirement"
_SOURCES = {"export": "the Get-OrganizationConfig export", "admin-api": "the Exchange Online admin API"}


INVENTORY = (
    "Take stock of the apps that use EWS in tenant B first: Microsoft 365 admin center > Reports > Usage > Exchange > "
    "EWS Usage lists the app id of each app calling EWS (worldwide tenants; data lags up to 10 days), the Message "
    "Center posts 'Update active Exchange Web Services Applications' name the tenant's active EWS apps, and "
    "Microsoft's Exchange-App-Usage-Reporting script covers the other clouds. Keep the ids of those still in use, "
    "Microsoft's own EWS clients among them (Office, Power Query for Excel).")
_UNKNOWN_IDS = "<ids of the other EWS apps still in use>"


def allow_app_for_ews(client_id: str, listed: Sequence[str] | None = None, enabled: bool | None = True) -> Remediation:
    """EwsEnabled true with the app added to EwsAllowedAppIDs, keeping every id already listed; when the list was
    empty or EWS was not limited to one (null, False), the other EWS clients must be listed too, or they lose EWS."""
    kept = list(listed or [])
    whole = bool(kept) and enabled is True  # a list in force: keep all of it and add the app
    if listed is None:  # not read: the command shows where the ids go
        ids = f"<ids already listed>,{client_id}"
    else:
        ids = ",".join(dict.fromkeys([*([] if whole else [_UNKNOWN_IDS]), *kept, client_id]))
    steps = ["In Exchange Online PowerShell, as an Exchange administrator of the Exchange tenant, read the settings "
             "first: -EwsAllowedAppIDs replaces the whole list, so every id already listed must be written back."]
    if not whole:
        steps += [INVENTORY, "Once EwsEnabled is True with a list, every app not on it loses EWS (an empty list "
                  "blocks every app): put every id found in the command, the sync app's included."]
    steps += ["Changes take up to 24 hours to apply (server-side caching); then run Test & Enable on one mailbox.",
              "The list matters only until EWS is switched off for good on 2027-04-01; sync then needs the Microsoft "
              "Graph permissions (GRA-001)."]
    return Remediation(
        f"Keep EWS open to the app {client_id} in the Exchange tenant until sync runs on Microsoft Graph: "
        "EwsEnabled true and the app in EwsAllowedAppIDs, beside the other apps that still need EWS.",
        steps=tuple(steps),
        commands=("Connect-ExchangeOnline",
                  "Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Format-List EwsEnabled,EwsAllowedAppIDs,"
                  "EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList",
                  f'Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "{ids}"'),
        links=(EWS_USAGE_REPORT,),
    )


def admit_dynamics_user_agent(blocked: Sequence[str] = ()) -> Remediation:
    remove = ",".join(f'"{entry}"' for entry in blocked)
    command = (f"Set-OrganizationConfig -EwsBlockList @{{Remove={remove}}}" if blocked
               else 'Set-OrganizationConfig -EwsAllowList @{Add="CRM/*"}')
    return Remediation(
        "Let Dynamics' EWS user agent (CRM/*) through the organization's EWS user-agent policy.",
        steps=("Both the app id list and the user-agent list must admit a request; the user-agent lists also "
               "apply to REST traffic. The command adds CRM/* and keeps every entry already there.",
               "Microsoft's article says the change can take up to 120 minutes; then run Test & Enable on one "
               "mailbox."),
        commands=("Connect-ExchangeOnline", command),
        links=(FORBIDDEN_ARTICLE,),
    )


def keep_ews_open(ids: RunIds, EwsEnabled: object = None, EwsAllowedAppIDs: Sequence[str] | None = None,
                  EwsApplicationAccessPolicy: object = None, EwsAllowList: object = None,
                  EwsBlockList: object = None, missing: Sequence[str] | None = None,
                  source: str | None = None) -> Remediation:
    """The fix for what the finding's evidence shows (its keys are Exchange's names): the organization's EWS settings
    as read from `source` (the user-agent policy's or the app id list's, whichever is worse), or, for the forecast,
    the Graph roles the move still needs."""
    if missing:
        return grant_graph_roles(ids)
    if source is None:  # the settings were not read
        return allow_app_for_ews(ids.client_id)
    config = {"EwsEnabled": EwsEnabled, "EwsAllowedAppIDs": EwsAllowedAppIDs,
              "EwsApplicationAccessPolicy": EwsApplicationAccessPolicy, "EwsAllowList": EwsAllowList,
              "EwsBlockList": EwsBlockList}
    verdicts = [_app_id_verdict(config, ids.client_id, ids.now or EWS_NULL_SWITCH), *_user_agent_verdicts(config)]
    worst = next((v for s in (Status.FAIL, Status.WARN) for v in verdicts if v[0] is s), None)
    if worst is not None and worst[2]:
        return admit_dynamics_user_agent(worst[2])  # the entries that block Dynamics' user agent, if any
    if worst is not None and worst[2] is not None:
        return admit_dynamics_user_agent()
    return allow_app_for_ews(ids.client_id, EwsAllowedAppIDs or [], _flag(EwsEnabled))


@check("EWS-001", "The app may use EWS in the Exchange tenant until EWS is switched off", Severity.HIGH,
       link="exchange", remedy=keep_ews_open,
       references=(EWS_RETIREMENT, SET_ORG_CONFIG, FORBIDDEN_ARTICLE, EWS_ACCESS),
       depends_on=("EXO-004", "EXO-001"))
def app_may_use_ews(org_config: Mapping[str, Any], client_id: str, now: datetime,
                    graph_resource_sp: Mapping[str, Any] | None, app_role_assignments: list[Mapping[str, Any]],
                    client_service_principal: Mapping[str, Any] | None) -> CheckResult:
    """Cross-tenant sync still reaches the mailboxes through EWS. From October 2026 Exchange Online lets an app use
    EWS only when the organization has EwsEnabled true and the app's id in EwsAllowedAppIDs (a tenant left unset is
    switched off), and on 1 April 2027 EWS is switched off for good, after which sync needs Microsoft Graph
    permissions. Exchange settings are not in Graph: an operator's export or the opt-in admin API supplies them."""
    yield _ews_access(org_config, client_id, now)
    yield _ews_forecast(now, graph_resource_sp, app_role_assignments, client_service_principal)


def _ews_access(org_config: Mapping[str, Any], client_id: str, now: datetime) -> Outcome:
    if now >= EWS_SHUTDOWN:
        return passed(ACCESS_SUBJECT, "EWS is retired in Exchange Online; only the Microsoft Graph permissions matter "
                      "(GRA-001)")
    config = org_config.get("config")
    if org_config.get("source") is None or config is None:
        return skipped(ACCESS_SUBJECT, "the organization's EWS settings were not read: export them in Exchange Online "
                       f"PowerShell of tenant B with `{EXPORT_COMMAND}` and set exchange.org_config_export to the "
                       "file, or set exchange.admin_api: true to read them through the Exchange Online admin API",
                       not_read=org_config.get("reason"), command=EXPORT_COMMAND)
    verdicts = [_app_id_verdict(config, client_id, now), *_user_agent_verdicts(config)]
    status = next(s for s in (Status.FAIL, Status.WARN, Status.PASS) if any(v[0] == s for v in verdicts))
    message = "; ".join(text for _, text, _ in verdicts)
    evidence: dict[str, Any] = {"source": org_config.get("source"), **config}
    if status == Status.PASS:
        return passed(ACCESS_SUBJECT, f"app {client_id} may use EWS in tenant B until it is switched off: {message} "
                      f"(read from {_SOURCES.get(str(org_config.get('source')), org_config.get('source'))})",
                      **evidence)
    return (failed if status == Status.FAIL else warned)(ACCESS_SUBJECT, message, **evidence)


# (status, what it says, None for the app id list, or the user-agent entries that block Dynamics: () when it is the
# allow list that leaves it out)
Verdict = tuple[Status, str, tuple[str, ...] | None]


def _flag(value: object) -> bool | None:
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return value if isinstance(value, bool) else None


def _app_id_verdict(config: Mapping[str, Any], client_id: str, now: datetime) -> Verdict:
    enabled, listed = _flag(config.get("EwsEnabled")), config.get("EwsAllowedAppIDs")
    if enabled is False:
        return Status.FAIL, f"EwsEnabled is False in tenant B: EWS is blocked for every app, app {client_id} too", None
    if enabled is True:
        if any(same_id(i, client_id) for i in listed or []):
            return Status.PASS, "EwsEnabled is True and the app is in EwsAllowedAppIDs", None
        which = f"a list of {len(listed)} that leaves out app {client_id}" if listed else \
            "an empty list, which blocks every app"
        return Status.FAIL, (f"EwsEnabled is True, so only the apps listed in EwsAllowedAppIDs may use EWS, and it "
                             f"holds {which}"), None
    left = (EWS_SHUTDOWN.date() - now.date()).days
    if now >= EWS_NULL_SWITCH:
        return Status.WARN, ("EwsEnabled is not set (null): Microsoft switched null to False in October 2026, so "
                             "null now most likely means an administrator set it back, which lets every app use EWS "
                             "and ignores EwsAllowedAppIDs; sync works until EWS is switched off for good on "
                             f"{day(EWS_SHUTDOWN)} (in {left} days), but any app can use EWS meanwhile: set EwsEnabled "
                             "to True with the apps that need EWS, the sync app among them, in EwsAllowedAppIDs"), None
    return Status.WARN, ("EwsEnabled is not set (null), which allows EWS for now, but Microsoft switches null to "
                         "False from October 2026; set EwsEnabled to True with the apps that need EWS, the sync app "
                         "among them, in EwsAllowedAppIDs"), None


def _entries(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(i).strip() for i in items if str(i).strip()]


def _admits_dynamics(entry: str) -> bool:
    """Whether a user-agent pattern covers Dynamics' EWS user agent (CRM/...); '*' covers everything."""
    return entry.upper().startswith("CRM") or entry.startswith("*")


def _user_agent_verdicts(config: Mapping[str, Any]) -> list[Verdict]:
    """Microsoft's support article: with EnforceAllowList and no CRM entry, Dynamics cannot talk to Exchange."""
    policy = str(config.get("EwsApplicationAccessPolicy") or "")
    if policy.lower() == "enforceallowlist":
        allowed = _entries(config.get("EwsAllowList"))
        if not any(_admits_dynamics(e) for e in allowed):
            return [(Status.FAIL, "the user-agent policy is EnforceAllowList and EwsAllowList "
                     f"({', '.join(allowed[:10]) or 'empty'}) has no entry admitting Dynamics' user agent (CRM/*), "
                     "so Exchange refuses server-side sync's EWS requests (403)", ())]
    if policy.lower() == "enforceblocklist":
        blocked = [e for e in _entries(config.get("EwsBlockList")) if _admits_dynamics(e)]
        if blocked:
            return [(Status.FAIL, f"the user-agent policy is EnforceBlockList and EwsBlockList lists "
                     f"{', '.join(blocked)}, which blocks Dynamics' user agent (CRM/*)", tuple(blocked))]
    return []


def _ews_forecast(now: datetime, graph_sp: Mapping[str, Any] | None, assignments: list[Mapping[str, Any]],
                  client_sp: Mapping[str, Any] | None) -> Outcome:
    if now >= EWS_SHUTDOWN:
        return passed(RETIREMENT_SUBJECT, f"EWS in Exchange Online was switched off on {day(EWS_SHUTDOWN)}; sync "
                      "runs on Microsoft Graph alone, whose permissions GRA-001 checks")
    left = (EWS_SHUTDOWN.date() - now.date()).days
    when = f"EWS in Exchange Online is switched off for good on {day(EWS_SHUTDOWN)} (in {left} days)"
    evidence: dict[str, Any] = {"shutdown": day(EWS_SHUTDOWN)}  # days left stay in the message: a waiver's
    # fingerprint covers evidence, which must not change by itself every day
    if client_sp is None or graph_sp is None:
        missing_what = "the app's service principal" if client_sp is None else "Microsoft Graph's service principal"
        return warned(RETIREMENT_SUBJECT, f"{when}; whether the Microsoft Graph permissions for the move are in place "
                      f"is unknown: {missing_what} in tenant B could not be read", **evidence)
    missing, _ = missing_graph_roles(client_sp, graph_sp, assignments)
    if not missing:
        return passed(RETIREMENT_SUBJECT, f"{when}; the Graph permissions are in place for the move", **evidence)
    return warned(RETIREMENT_SUBJECT, f"{when}; sync then needs Microsoft Graph, and the app still lacks "
                  f"{len(missing)} of the Graph permissions for the move: {', '.join(missing)} (GRA-001)",
                  missing=missing, **evidence)
