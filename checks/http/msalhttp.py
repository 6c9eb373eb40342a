"""The object msal sends its requests through: an httpx client with msal's bytes-in-form quirk fixed, that hands msal
only answers that are data or errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .answers import RejectedAnswer, not_data


class MsalHttpClient:
    """msal's `http_client`: `post`/`get`/`close` over an httpx.Client.

    msal puts a certificate's signed client assertion into the form as bytes; httpx would send
    `str(b"...")`, which Entra rejects (AADSTS700027). Bytes values are decoded here. And msal reads any answer's
    JSON as the token or document, whatever its status: a redirect carrying `{"access_token": ...}` would be a
    token. Here only a 200 JSON answer or an error (400 and up, which msal reads as the refusal it is) reaches msal;
    anything else is a RejectedAnswer.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, url: str, params: Mapping[str, Any] | None = None, data: Any = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        if isinstance(data, Mapping):
            data = {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in data.items()}
        return _data_or_refusal(
            self._client.post(url, params=params, data=data, headers=headers, **_httpx_options(kwargs)))

    def get(self, url: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
            **kwargs: Any) -> httpx.Response:
        return _data_or_refusal(self._client.get(url, params=params, headers=headers, **_httpx_options(kwargs)))

    def close(self) -> None:
        self._client.close()


def _data_or_refusal(response: httpx.Response) -> httpx.Response:
    """The answer, when it is data (200 JSON) or an error for msal to read; RejectedAnswer otherwise."""
    problem = not_data(response) if response.status_code < 400 else None
    if problem is not None:
        response.close()
        raise RejectedAnswer(f"the sign-in service {problem}", request=response.request)
    return response


def _httpx_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """msal passes requests-style options (timeout, allow_redirects); keep only what httpx understands."""
    return {k: v for k, v in kwargs.items() if k == "timeout"}
