"""The object msal sends its requests through: an httpx client with msal's bytes-in-form quirk fixed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class MsalHttpClient:
    """msal's `http_client`: `post`/`get`/`close` over an httpx.Client.

    msal puts a certificate's signed client assertion into the form as bytes; httpx would send
    `str(b"...")`, which Entra rejects (AADSTS700027). Bytes values are decoded here, nothing else changes.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, url: str, params: Mapping[str, Any] | None = None, data: Any = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        if isinstance(data, Mapping):
            data = {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(url, params=params, data=data, headers=headers, **_httpx_options(kwargs))

    def get(self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
            **kwargs: Any) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers, **_httpx_options(kwargs))

    def close(self) -> None:
        self._client.close()


def _httpx_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """msal passes requests-style options (timeout, allow_redirects); keep only what httpx understands."""
    return {k: v for k, v in kwargs.items() if k == "timeout"}
