"""Exchange Online for the sandbox: the admin API's InvokeCommand (as Exchange Online PowerShell v3 calls it), which
answers Get-OrganizationConfig per tenant; its origin is also the resource Exchange tokens are issued for."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .directory import Directory, Tenant, derived_id
from .httpd import Request, Response, ServiceError
from .tokens import Rejection, TokenIssuer

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
PUBLIC_RESOURCE = "https://outlook.office365.com"
MANAGE_AS_APP = "Exchange.ManageAsApp"
SUPPORTED_CMDLETS = ("Get-OrganizationConfig",)
CONTENT_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
                "charset=utf-8")

_INVOKE = re.compile(r"^/adminapi/(beta|v2\.0)/([^/]+)/InvokeCommand$")
# The directory partition a tenant's configuration unit lives in, by its region (as in DistinguishedName).
_FORESTS = {"EU": "EURPR05A001", "NA": "NAMPR11A004", "AS": "APCPR03A002", "OC": "SYDPR01A003"}

_STATUS_ERRORS = {
    400: ("BadRequest", "The request is not valid."),
    401: ("Unauthorized", "The access token is missing or not valid."),
    403: ("Forbidden", "The caller is not allowed to run this command."),
    404: ("NotFound", "The requested resource was not found."),
    405: ("MethodNotAllowed", "The HTTP method is not allowed for this resource."),
    429: ("TooManyRequests", "The request was throttled. Retry after the interval in the Retry-After header."),
    500: ("InternalServerError", "An internal server error occurred. The operation failed."),
    502: ("BadGateway", "The proxy received an invalid response from the backend server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Try again later."),
    504: ("GatewayTimeout", "The backend server did not answer in time."),
}


def organization_config(tenant: Tenant) -> dict[str, Any]:
    """The tenant's organization config as `Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy |
    ConvertTo-Json` writes it (and as the admin API's InvokeCommand returns it): PascalCase, enums as strings."""
    initial = next((d["id"] for d in tenant.domains if d.get("isInitial")), tenant.domains[0]["id"])
    forest = _FORESTS.get(tenant.region.upper(), "NAMPR11A004")
    ews = tenant.exchange_organization
    allowed = ews.get("EwsAllowedAppIDs")
    return {
        "Name": initial,
        "DisplayName": tenant.display_name,
        "Identity": initial,
        "Guid": derived_id("exchange-organization", tenant.id),
        "DistinguishedName": f"CN=Configuration,CN={initial},CN=ConfigurationUnits,DC={forest},DC=PROD,"
                             "DC=OUTLOOK,DC=COM",
        "IsDehydrated": False,
        "ExchangeVersion": "0.20 (15.0.0.0)",
        "OAuth2ClientProfileEnabled": True,
        "MapiHttpEnabled": True,
        "AuditDisabled": False,
        "EwsEnabled": ews.get("EwsEnabled"),
        "EwsAllowedAppIDs": None if allowed is None else [str(app_id) for app_id in allowed],
        "EwsAllowOutlook": None,
        "EwsAllowMacOutlook": None,
        "EwsAllowEntourage": None,
        "EwsApplicationAccessPolicy": ews.get("EwsApplicationAccessPolicy"),
        "EwsAllowList": _copy(ews.get("EwsAllowList")),
        "EwsBlockList": _copy(ews.get("EwsBlockList")),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


def _copy(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def cmdlet_name(request: Request) -> str:
    """The CmdletName of an InvokeCommand body, or "" when the body has none."""
    try:
        name = request.json()["CmdletInput"]["CmdletName"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        return ""
    return name if isinstance(name, str) else ""


class Exchange:
    """Exchange Online's origin. Only Get- cmdlets are reads; every other POST (and PUT/PATCH/DELETE) is a write,
    which the server refuses with 405 and records."""

    name = "exchange"

    def __init__(self, directory: Directory, issuer: TokenIssuer) -> None:
        self.directory = directory
        self.issuer = issuer
        self.origin = ""
        self.login_origin = ""

    # -- the Service protocol --------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        if request.method in ("GET", "HEAD"):
            return True
        if request.method != "POST" or _INVOKE.match(request.path) is None:
            return False
        return cmdlet_name(request).lower().startswith("get-")

    def error_response(self, request: Request, status: int) -> Response:
        code, message = _STATUS_ERRORS.get(status, ("UnknownError", f"HTTP {status}."))
        return self._error(ServiceError(status, code, message))

    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except ServiceError as error:
            return self._error(error)

    # -- dispatch -------------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        match = _INVOKE.match(request.path)
        if match is None:
            raise ServiceError(404, "NotFound", f"No resource was found at '{request.path}'.")
        if request.method != "POST":
            raise ServiceError(405, *_STATUS_ERRORS[405])
        version, tenant_key = match.groups()
        claims = self._authenticate(request)
        tenant = self.directory.tenant(tenant_key)
        if tenant is None or str(claims.get("tid", "")).lower() != tenant.id:
            raise ServiceError(401, "Unauthorized",
                               f"The access token was issued for tenant '{claims.get('tid')}', not for the "
                               f"organization '{tenant_key}' in the request URL.", self._challenge())
        if MANAGE_AS_APP not in (claims.get("roles") or []):
            raise ServiceError(403, "Forbidden",
                               f"The caller does not have the {MANAGE_AS_APP} role on Office 365 Exchange Online "
                               f"in organization '{tenant_key}', so it cannot run Exchange cmdlets as an "
                               "application.")
        name = self._cmdlet(request)
        if name.lower() != "get-organizationconfig":
            raise ServiceError(400, "BadRequest",
                               f"The cmdlet '{name}' is not supported here; this endpoint runs only "
                               f"{', '.join(SUPPORTED_CMDLETS)}.")
        body = {
            "@odata.context": f"{self.origin}/adminapi/{version}/{tenant.id}/$metadata"
                              "#Collection(Exchange.GenericHashTable)",
            "adminapi.warnings@odata.type": "#Collection(String)",
            "adminapi.warnings": [],
            "value": [organization_config(tenant)],
        }
        return Response.json(200, body, self._headers(), content_type=CONTENT_TYPE)

    def _authenticate(self, request: Request) -> dict[str, Any]:
        claims = self.issuer.validate(request.header("Authorization"), {self.origin, PUBLIC_RESOURCE})
        if isinstance(claims, Rejection):
            raise ServiceError(401, "Unauthorized", claims.message, self._challenge())
        return claims

    def _cmdlet(self, request: Request) -> str:
        try:
            command = request.json()["CmdletInput"]
            name, parameters = command["CmdletName"], command.get("Parameters") or {}
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
            raise ServiceError(400, "BadRequest", "The request body must be a JSON object "
                               '{"CmdletInput": {"CmdletName": "...", "Parameters": {...}}}.') from None
        if not isinstance(name, str) or not isinstance(parameters, dict):
            raise ServiceError(400, "BadRequest", "CmdletName must be a string and Parameters an object.")
        return name

    # -- envelopes ------------------------------------------------------------------------------------

    def _challenge(self) -> dict[str, str]:
        login = self.login_origin or "https://login.microsoftonline.com"
        return {"WWW-Authenticate": f'Bearer client_id="{EXCHANGE_APP_ID}", '
                                    f'authorization_uri="{login}/common/oauth2/authorize", error="invalid_token"'}

    def _headers(self) -> dict[str, str]:
        return {"request-id": str(uuid.uuid4()), "X-Content-Type-Options": "nosniff"}

    def _error(self, error: ServiceError) -> Response:
        body = {"error": {"code": error.code, "message": error.message}}
        return Response.json(error.status, body, {**self._headers(), **error.headers}, content_type=CONTENT_TYPE)
