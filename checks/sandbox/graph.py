"""Microsoft Graph v1.0 (stub, replaced by the real module)."""

from __future__ import annotations

from .directory import Directory
from .httpd import Request, Response
from .tokens import TokenIssuer


class Graph:
    name = "graph"

    def __init__(self, directory: Directory, issuer: TokenIssuer, page_size: int = 100) -> None:
        self.directory = directory
        self.issuer = issuer
        self.page_size = page_size
        self.origin = ""

    def is_read(self, request: Request) -> bool:
        return request.method == "GET"

    def error_response(self, request: Request, status: int) -> Response:
        return Response.json(status, {"error": {"code": "x", "message": "x"}})

    def handle(self, request: Request) -> Response:
        return self.error_response(request, 404)
