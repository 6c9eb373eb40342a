"""Dataverse Web API v9.2 (stub, replaced by the real module)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .directory import Directory
from .httpd import Request, Response
from .tokens import TokenIssuer


@dataclass
class Environment:
    ref: str
    tenant_id: str


def build_environment(raw: dict[str, Any], directory: Directory, now: dt.datetime) -> Environment:
    tenant = directory.tenant(next(t.id for t in directory.tenants.values() if t.ref == raw["tenant"]))
    assert tenant is not None
    return Environment(raw["ref"], tenant.id)


class Dataverse:
    def __init__(self, environment: Environment, issuer: TokenIssuer) -> None:
        self.environment = environment
        self.issuer = issuer
        self.name = f"dataverse:{environment.ref}"
        self.origin = ""

    def is_read(self, request: Request) -> bool:
        return request.method == "GET"

    def error_response(self, request: Request, status: int) -> Response:
        return Response.json(status, {"error": {"code": "0x0", "message": "x"}})

    def handle(self, request: Request) -> Response:
        return self.error_response(request, 404)
