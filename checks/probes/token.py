"""The live token probe (opt-in): sign in to tenant B for Exchange with the sync app's own secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import probe
from ..settings import Settings

if TYPE_CHECKING:  # only a type here: evaluating a snapshot never loads the HTTP stack (msal, httpx)
    from ..http.apis import Apis


@probe("the sync app's own sign-in to tenant B", shared=("exchange_tenant_id", "client_id"))
def live_token(settings: Settings, apis: Apis, exchange_tenant_id: str, client_id: str) -> dict[str, Any]:
    """{"configured": False} without app.secret; else {"configured": True, "acquired": ..., "claims"/"code"/"error"}.

    This is a real sign-in: it leaves a service-principal sign-in log entry in tenant B, and writes nothing."""
    if settings.app_secret is None:
        return {"configured": False}
    result = apis.tokens.live_probe(client_id, exchange_tenant_id, settings.app_secret.reveal(),
                                    settings.cloud.exchange_resource)
    return {"configured": True, "resource": settings.cloud.exchange_resource, **result}
