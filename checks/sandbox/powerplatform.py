"""The Power Platform admin API (api.bap.microsoft.com): the environments of the caller's tenant, as xtcheck's
estate discovery lists them, in Microsoft's shape and paged with `nextLink`.

A caller must hold a token for the Power Platform resource in the tenant whose environments it lists, and be
registered as a Power Platform management application (`pac admin application register`); an app that is not
gets the 403 Microsoft answers, so a test can see discovery name the fix."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import firstparty
from .directory import derived_id
from .httpd import Request, Response
from .tokens import Rejection, TokenIssuer

PREFIX = "/providers/Microsoft.BusinessAppPlatform"
ENVIRONMENTS = f"{PREFIX}/scopes/admin/environments"
DEFAULT_PAGE_SIZE = 100
_ONE = re.compile(rf"^{re.escape(ENVIRONMENTS)}/([^/]+)$")
_TYPE = "Microsoft.BusinessAppPlatform/scopes/environments"


@dataclass(frozen=True)
class Listed:
    """One environment as the admin API knows it: whose it is, what it is called, and its Dataverse origin (""
    for an environment without Dataverse)."""

    ref: str
    tenant_id: str
    display_name: str
    sku: str
    location: str
    instance_url: str

    @property
    def name(self) -> str:
        return derived_id("power-platform-environment", self.ref)

    def resource(self) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "tenantId": self.tenant_id, "azureRegion": self.location, "displayName": self.display_name,
            "createdTime": "2024-01-01T00:00:00Z", "environmentSku": self.sku,
            "isDefault": self.sku == "Default", "provisioningState": "Succeeded",
            "states": {"management": {"id": "Ready"}, "runtime": {"id": "Enabled"}},
        }
        if self.instance_url:
            host = self.instance_url.split("://", 1)[-1].rstrip("/")
            properties["linkedEnvironmentMetadata"] = {
                "type": "Dynamics365Instance", "resourceId": derived_id("dataverse-organization", self.ref),
                "friendlyName": self.display_name, "uniqueName": f"unq{self.name.replace('-', '')[:24]}",
                "domainName": self.ref, "version": "9.2.25031.00182", "instanceUrl": f"{self.instance_url}/",
                "instanceApiUrl": f"{self.instance_url}/api/data/v9.2/", "instanceState": "Ready",
                "hostNameSuffix": host.partition(":")[0],
            }
        return {"id": f"{ENVIRONMENTS}/{self.name}", "name": self.name, "type": _TYPE, "location": self.location,
                "properties": properties}


class PowerPlatform:
    """The admin API's list and get routes for environments; everything else is a 404, writes are refused (405)."""

    def __init__(self, environments: Iterable[Listed], issuer: TokenIssuer, *, registered: Iterable[str],
                 page_size: int = DEFAULT_PAGE_SIZE) -> None:
        if page_size < 1:
            raise ValueError("the admin API's page size must be at least 1")
        self.name = "bap"
        self.origin = ""
        self.issuer = issuer
        self.page_size = page_size
        self.environments = list(environments)
        self._registered = frozenset(a.lower() for a in registered)

    # -- Service protocol -------------------------------------------------------------------------------

    def is_read(self, request: Request) -> bool:
        return request.method in ("GET", "HEAD")

    def error_response(self, request: Request, status: int) -> Response:
        code, message = _GENERIC.get(status, ("InternalServerError" if status >= 500 else "BadRequest",
                                              f"HTTP status {status}."))
        return _error(status, code, message)

    def handle(self, request: Request) -> Response:
        try:
            tenant_id = self._caller_tenant(request)
        except _Refused as refused:
            return refused.response
        mine = [e for e in self.environments if e.tenant_id == tenant_id]
        if request.path.rstrip("/") == ENVIRONMENTS:
            return self._page(request, mine)
        if match := _ONE.match(request.path):
            return self._one(mine, match.group(1))
        return _error(404, "NotFound", f"The route '{request.path}' could not be found.")

    def _caller_tenant(self, request: Request) -> str:
        """The tenant whose environments the caller may list; _Refused when the request may not be answered."""
        if not request.path.startswith(PREFIX):
            raise _Refused(_error(404, "NotFound", f"The route '{request.path}' could not be found."))
        claims = self.issuer.validate(request.header("Authorization"),
                                      {self.origin, firstparty.POWERAPPS.public_uri})
        if isinstance(claims, Rejection):
            raise _Refused(_unauthorized(claims))
        if "api-version" not in request.query:
            raise _Refused(_error(400, "MissingApiVersionParameter",
                                  "The api-version query parameter (?api-version=) is required for all requests."))
        app_id = str(claims.get("appid") or claims.get("azp") or "").lower()
        tenant_id = str(claims.get("tid", "")).lower()
        if app_id not in self._registered:
            raise _Refused(_error(403, "Forbidden", (
                f"The service principal with id '{claims.get('oid', '')}' for application {app_id} does not have "
                f"permission to access the path '{self.origin}{request.target}' in tenant {tenant_id}.")))
        return tenant_id

    # -- routes -----------------------------------------------------------------------------------------

    def _page(self, request: Request, mine: list[Listed]) -> Response:
        offset = _offset(request.query.get("$skiptoken"))
        if offset is None or offset > len(mine):
            return _error(400, "InvalidSkipToken", "The skip token is not valid.")
        body: dict[str, Any] = {"value": [e.resource() for e in mine[offset:offset + self.page_size]]}
        following = offset + self.page_size
        if following < len(mine):
            kept = "&".join(f"{quote(k, safe='$-')}={quote(v, safe='-.')}" for k, v in request.query.items()
                            if k != "$skiptoken")
            body["nextLink"] = f"{self.origin}{ENVIRONMENTS}?{kept}&$skiptoken={_token(following)}"
        return Response.json(200, body)

    def _one(self, mine: list[Listed], name: str) -> Response:
        found = next((e for e in mine if e.name == name.lower()), None)
        if found is None:
            return _error(404, "EnvironmentNotFound", f"The environment '{name}' could not be found in the tenant.")
        return Response.json(200, found.resource())


class _Refused(Exception):
    """A request answered before any route: no or a bad token, no api-version, an unregistered caller."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


_GENERIC: Mapping[int, tuple[str, str]] = {
    401: ("InvalidAuthenticationToken", "The access token is invalid."),
    403: ("Forbidden", "The caller is not allowed to perform this action."),
    404: ("NotFound", "The requested resource could not be found."),
    405: ("MethodNotAllowed", "The requested method is not allowed on this resource."),
    429: ("TooManyRequests", "Rate limit is exceeded. Try again later."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "The server received an invalid response from an upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The server did not complete the request in time."),
}


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}}, headers)


def _unauthorized(rejection: Rejection) -> Response:
    code = {"missing": "MissingAuthenticationToken", "expired": "ExpiredAuthenticationToken",
            "audience": "InvalidAuthenticationTokenAudience"}.get(rejection.reason, "InvalidAuthenticationToken")
    return _error(401, code, rejection.message, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _token(offset: int) -> str:
    """An opaque skip token, as Microsoft's are: the offset of the page it starts, base64url."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int | None:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    kind, _, number = text.partition(":")
    return int(number) if kind == "offset" and number.isdigit() else None
