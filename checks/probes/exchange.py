"""Exchange Online organization settings for EWS-001: an operator's export, or (opt-in) the admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InputError, ProbeError
from ..files import CONFIG_LIMIT, read_text, shown
from ..model import Permission
from ..parsing import load_json
from ..registry import probe
from ..settings import Settings

if TYPE_CHECKING:  # only a type here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.apis import Apis

EXPORT_COMMAND = ("Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy | Select-Object Name,EwsEnabled,"
                  "EwsAllowedAppIDs,EwsApplicationAccessPolicy,EwsAllowList,EwsBlockList | ConvertTo-Json "
                  "> org-config.json")
MANAGE_AS_APP = Permission("Exchange Online", "Exchange.ManageAsApp + View-Only Configuration (only with "
                           "exchange.admin_api)", "tenant B")
_FIELDS = ("EwsEnabled", "EwsAllowedAppIDs", "EwsApplicationAccessPolicy", "EwsAllowList", "EwsBlockList")


@probe("tenant B's Exchange organization config",
       permissions=(MANAGE_AS_APP,), lazy=("exchange_tenant_id",),
       shared=("settings.exchange_tenant", "settings.org_config_export"))
def org_config(settings: Settings, apis: Apis, exchange_tenant_id: Callable[[], str]) -> dict[str, Any]:
    """{"source": "export" | "admin-api" | None, "config": the EWS settings or None, "reason": why not read}."""
    if settings.org_config_export is not None:
        return {"source": "export", "path": str(settings.org_config_export),
                "config": _ews_settings(_read_export(settings), str(settings.org_config_export))}
    if settings.exchange_admin_api:
        reply = apis.org_config(exchange_tenant_id())
        rows = reply.get("value")
        if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
            raise ProbeError("malformed reply from the Exchange Online admin API: no organization config in 'value'")
        return {"source": "admin-api", "config": _ews_settings(rows[0], "the admin API")}
    return {"source": None, "config": None,
            "reason": "no organization config was supplied: export it (exchange.org_config_export) or opt in to "
                      "the Exchange Online admin API (exchange.admin_api: true)"}


def _read_export(settings: Settings) -> Any:
    path = settings.org_config_export
    assert path is not None
    try:  # Windows PowerShell 5.1 writes UTF-16 with a BOM; PowerShell 7 writes UTF-8, sometimes with a BOM
        return load_json(read_text(path, "organization config export", CONFIG_LIMIT))
    except InputError as exc:
        raise ProbeError(str(exc)) from None
    except ValueError as exc:
        raise ProbeError(f"cannot read the organization config export {shown(path)}: {exc}") from None


def _ews_settings(data: Any, where: str) -> dict[str, Any]:
    """The EWS fields, tolerant of PowerShell's shapes: a list of one object, lists as arrays or comma strings."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict) or "EwsEnabled" not in data:
        raise ProbeError(f"{where} does not look like Get-OrganizationConfig output (no EwsEnabled); export it with: "
                         f"{EXPORT_COMMAND}")
    config = {field: data.get(field) for field in _FIELDS}
    config["EwsAllowedAppIDs"] = _ids(config["EwsAllowedAppIDs"])
    return config


def _ids(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    return [str(i).strip().lower() for i in items if str(i).strip()]
