"""The API roots a run reads, each with the right identity: Graph in a given tenant, the Dataverse environment."""

from __future__ import annotations

from typing import Any

from ..settings import Settings
from .api import Api
from .auth import Tokens
from .client import Http

DATAVERSE_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}


class Apis:
    """Lazily built API clients; nothing is requested until a probe reads."""

    def __init__(self, settings: Settings, http: Http, tokens: Tokens) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self._graph: dict[str, Api] = {}
        self._dataverse: Api | None = None

    def graph(self, tenant_id: str) -> Api:
        if tenant_id not in self._graph:
            graph = self.settings.cloud.graph
            self._graph[tenant_id] = Api(
                self.http.client({"Accept": "application/json"}), f"{graph}/v1.0",
                lambda refused: self.tokens.for_tenant(tenant_id, graph, refused), service="Microsoft Graph")
        return self._graph[tenant_id]

    def dataverse(self) -> Api:
        if self._dataverse is None:
            url = self.settings.environment_url
            # No FormattedValue annotations: the checks read option values, and labels would double every row's size.
            prefer = f"odata.maxpagesize={self.settings.http.dataverse_page_size}"
            self._dataverse = Api(
                self.http.client({**DATAVERSE_HEADERS, "Prefer": prefer}), f"{url}/api/data/v9.2",
                lambda refused: self.tokens.for_tenant(self.settings.dynamics_tenant, url, refused),
                service="Dataverse")
        return self._dataverse

    def org_config(self, tenant_id: str) -> dict[str, Any]:
        """Get-OrganizationConfig through the Exchange Online admin API (opt-in; the guard lets only Get- through)."""
        resource = self.settings.cloud.exchange_resource
        body = {"CmdletInput": {"CmdletName": "Get-OrganizationConfig",
                                "Parameters": {"RetrieveEwsOperationAccessPolicy": True}}}
        api = Api(self.http.client({"Accept": "application/json"}), f"{resource}/adminapi/beta",
                  lambda refused: self.tokens.for_tenant(tenant_id, resource, refused),
                  service="Exchange Online admin API")
        return api.invoke(f"{tenant_id}/InvokeCommand", body)

    def discovery(self, tenant: str) -> dict[str, Any]:
        """OIDC discovery for a tenant id or domain (no credentials); ProbeError on failure."""
        return Api(self.http.client({"Accept": "application/json"}), self.settings.cloud.login, lambda _: "",
                   service="Entra ID").get_anonymous(f"{tenant}/v2.0/.well-known/openid-configuration")
