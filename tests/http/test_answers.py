"""Which answers are data: a 200 labelled JSON, and nothing else, whatever its body says (a redirect carrying
`{"value": []}` would read as an empty collection, one carrying `{"access_token": ...}` as a token)."""

from __future__ import annotations

import httpx
import pytest

from checks.http.answers import is_json, not_data

URL = "https://org.crm4.dynamics.com/api/data/v9.2/tracelogs?$filter=x"


def answer(status: int, content_type: str | None = "application/json; charset=utf-8") -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return httpx.Response(status, headers=headers, content=b'{"value": []}', request=httpx.Request("GET", URL))


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
    " application/json ; odata.metadata=none"])
def test_a_200_labelled_json_is_data(content_type: str) -> None:
    assert is_json(content_type)
    assert not_data(answer(200, content_type)) is None


@pytest.mark.parametrize(("status", "says"), [
    (301, "301 Moved Permanently"), (302, "302 Found"), (303, "303 See Other"), (304, "304 Not Modified"),
    (307, "307 Temporary Redirect"), (308, "308 Permanent Redirect")])
def test_a_redirect_is_never_data_whatever_its_body(status: int, says: str) -> None:
    problem = not_data(answer(status))
    assert problem is not None
    assert problem.startswith(f"answered {says} to GET org.crm4.dynamics.com/api/data/v9.2/tracelogs: a redirect")


@pytest.mark.parametrize("status", [100, 101, 103, 201, 202, 203, 204, 205, 206, 207, 226])
def test_any_other_status_below_400_is_not_data(status: int) -> None:
    problem = not_data(answer(status))
    assert problem is not None and f"answered {status} " in problem and "org.crm4.dynamics.com" in problem
    assert "where 200 with a JSON body is due" in problem


@pytest.mark.parametrize("content_type", [
    "text/html; charset=utf-8", "application/problem+json", "application/jsonp", "text/json", "", None,
    "application/xml", "application/json-seq"])
def test_a_200_labelled_as_anything_but_json_is_not_data(content_type: str | None) -> None:
    problem = not_data(answer(200, content_type))
    assert problem is not None and "not application/json" in problem


def test_a_hostile_content_type_is_shown_on_one_line_of_visible_characters() -> None:
    problem = not_data(answer(200, "text/html\x1b[31m" + "x" * 500))
    assert problem is not None
    assert "\x1b" not in problem and "\\x1b[31m" in problem and len(problem) < 300


def test_the_status_is_named_with_the_standard_phrase_not_the_servers() -> None:
    response = httpx.Response(302, headers={"Content-Type": "application/json"}, content=b"{}",
                              request=httpx.Request("GET", URL), extensions={"reason_phrase": b"OK all good"})
    problem = not_data(response)
    assert problem is not None and "302 Found" in problem and "all good" not in problem
