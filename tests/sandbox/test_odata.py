"""Tests for the sandbox's OData query-option engine."""

from __future__ import annotations

import re
from typing import Any

import pytest

from checks.sandbox.odata import ExpandItem, parse_expand, parse_orderby, parse_select, sort_rows
from checks.sandbox.odatafilter import compile_filter, filter_properties
from checks.sandbox.odatasyntax import ODataError

GUID = "8e881c6f-5a1b-4c2d-9e3f-0a1b2c3d4e5f"


def matches(text: str, row: dict[str, Any], *, case_insensitive: bool = False) -> bool:
    return compile_filter(text, case_insensitive=case_insensitive)(row)


# ---------------------------------------------------------------------------------------------------------
# $filter: comparisons and logic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n eq 5", True),
        ("n ne 5", False),
        ("n gt 4", True),
        ("n gt 5", False),
        ("n ge 5", True),
        ("n lt 6", True),
        ("n le 4", False),
        ("name eq 'alice'", True),
        ("name lt 'bob'", True),
    ],
)
def test_comparison_operators(text: str, expected: bool) -> None:
    assert matches(text, {"n": 5, "name": "alice"}) is expected


def test_precedence_and_binds_tighter_than_or() -> None:
    text = "a eq 1 or b eq 2 and c eq 3"
    # Parsed as a eq 1 or (b eq 2 and c eq 3).
    assert matches(text, {"a": 1, "b": 0, "c": 0}) is True
    assert matches(text, {"a": 0, "b": 2, "c": 3}) is True
    assert matches(text, {"a": 0, "b": 2, "c": 0}) is False


def test_parentheses_override_precedence() -> None:
    text = "(a eq 1 or b eq 2) and c eq 3"
    assert matches(text, {"a": 1, "b": 0, "c": 0}) is False
    assert matches(text, {"a": 1, "b": 0, "c": 3}) is True


def test_nested_parentheses() -> None:
    text = "((a eq 1) and ((b eq 2) or (c eq 3)))"
    assert matches(text, {"a": 1, "b": 9, "c": 3}) is True
    assert matches(text, {"a": 1, "b": 9, "c": 9}) is False


def test_not_with_parentheses() -> None:
    assert matches("not (x eq 1)", {"x": 2}) is True
    assert matches("not (x eq 1)", {"x": 1}) is False
    assert matches("not(x eq 1) and y eq 2", {"x": 2, "y": 2}) is True


def test_not_binds_tighter_than_comparison() -> None:
    # "not flag eq false" is (not flag) eq false, as OData's precedence table says.
    assert matches("not flag eq false", {"flag": True}) is True
    assert matches("not flag eq false", {"flag": False}) is False
    # not of a non-boolean is unknown, so the comparison is false, unlike not (x eq 1).
    assert matches("not x eq 1", {"x": 2}) is False
    assert matches("not (x eq 1)", {"x": 2}) is True


def test_bare_boolean_property_and_literals() -> None:
    assert matches("isdisabled", {"isdisabled": True}) is True
    assert matches("isdisabled", {"isdisabled": "yes"}) is False
    assert matches("not isdisabled", {"isdisabled": False}) is True
    assert matches("true and not false", {}) is True


def test_whitespace_runs_between_tokens() -> None:
    assert matches("   a    eq     1   and(b  eq 2 )  ", {"a": 1, "b": 2}) is True


def test_lookup_property_names_with_underscores() -> None:
    row = {"_emailserverprofile_value": GUID}
    assert matches(f"_emailserverprofile_value eq {GUID}", row) is True


def test_property_compared_with_property() -> None:
    assert matches("a eq b", {"a": "x", "b": "x"}) is True
    assert matches("a lt b", {"a": 1, "b": 2.5}) is True


# ---------------------------------------------------------------------------------------------------------
# $filter: literals


def test_escaped_quote_in_string_literal() -> None:
    assert matches("name eq 'O''Brien'", {"name": "O'Brien"}) is True
    assert matches("name eq ''''", {"name": "'"}) is True
    assert matches("name eq ''", {"name": ""}) is True


def test_string_literal_may_contain_keywords_and_parentheses() -> None:
    assert matches("s eq 'a eq b) or (c'", {"s": "a eq b) or (c"}) is True


def test_numbers_negative_and_decimal() -> None:
    assert matches("n eq -3", {"n": -3}) is True
    assert matches("n gt -3.5", {"n": -3}) is True
    assert matches("n eq 2.5", {"n": 2.5}) is True
    assert matches("n eq 2", {"n": 2.0}) is True


def test_booleans_do_not_equal_integers() -> None:
    assert matches("flag eq 1", {"flag": True}) is False
    assert matches("n eq true", {"n": 1}) is False
    assert matches("flag eq true", {"flag": True}) is True
    assert matches("flag ne false", {"flag": True}) is True


def test_type_mismatch_is_false_not_an_error() -> None:
    row = {"s": "5", "n": 5, "b": True}
    for text in ("s eq 5", "n eq '5'", "s gt 1", "n lt 'z'", "b eq 'true'", "s ne 5"):
        assert matches(text, row) is False, text


# ---------------------------------------------------------------------------------------------------------
# $filter: GUIDs and case sensitivity


def test_guid_literal_is_case_insensitive_without_flag() -> None:
    upper = GUID.upper()
    assert matches(f"resourceId eq {upper}", {"resourceId": GUID}) is True
    assert matches(f"resourceId eq {GUID}", {"resourceId": upper}) is True
    assert matches(f"resourceId ne {upper}", {"resourceId": GUID}) is False


def test_guid_literal_is_case_insensitive_with_flag() -> None:
    assert matches(f"_x_value eq {GUID.upper()}", {"_x_value": GUID}, case_insensitive=True) is True


def test_guid_literal_does_not_match_other_guid_or_non_string() -> None:
    other = "00000000-0000-0000-0000-000000000001"
    assert matches(f"id eq {other}", {"id": GUID}) is False
    assert matches(f"id eq {GUID}", {"id": 42}) is False


def test_guid_literal_starting_with_a_letter_is_not_an_identifier() -> None:
    guid = "abcdef01-2345-6789-abcd-ef0123456789"
    assert matches(f"id eq {guid.upper()}", {"id": guid}) is True


def test_string_comparison_is_exact_by_default() -> None:
    row = {"mail": "ALICE@contoso.com"}
    assert matches("mail eq 'alice@contoso.com'", row) is False
    assert matches("mail eq 'ALICE@contoso.com'", row) is True


def test_string_comparison_honours_case_insensitive() -> None:
    row = {"mail": "ALICE@contoso.com"}
    assert matches("mail eq 'alice@contoso.com'", row, case_insensitive=True) is True
    assert matches("mail gt 'ALICE@contoso.co'", row, case_insensitive=True) is True
    assert matches("mail lt 'bob'", row, case_insensitive=True) is True
    # Dataverse's SQL comparison also ignores trailing blanks (ANSI padding); leading ones count.
    assert matches("mail eq 'alice@contoso.com  '", row, case_insensitive=True) is True
    assert matches("mail eq ' alice@contoso.com'", row, case_insensitive=True) is False
    assert matches("mail eq 'ALICE@contoso.com '", row) is False


def test_quoted_guid_is_a_plain_string() -> None:
    assert matches(f"id eq '{GUID.upper()}'", {"id": GUID}) is False
    assert matches(f"id eq '{GUID.upper()}'", {"id": GUID}, case_insensitive=True) is True


# ---------------------------------------------------------------------------------------------------------
# $filter: functions


def test_contains_startswith_endswith() -> None:
    row = {"name": "Contoso Mail Profile"}
    assert matches("contains(name,'Mail')", row) is True
    assert matches("startswith(name, 'Contoso')", row) is True
    assert matches("endswith(name,'Profile')", row) is True
    assert matches("contains(name,'mail')", row) is False
    assert matches("contains(name,'mail')", row, case_insensitive=True) is True


def test_not_with_function_and_null_argument() -> None:
    assert matches("not contains(name,'x')", {"name": "abc"}) is True
    assert matches("contains(name,'x')", {}) is False
    assert matches("not contains(name,'x')", {}) is False


def test_tolower_and_toupper_on_either_side() -> None:
    row = {"mail": "Alice@Contoso.com"}
    assert matches("tolower(mail) eq 'alice@contoso.com'", row) is True
    assert matches("'ALICE@CONTOSO.COM' eq toupper(mail)", row) is True
    assert matches("tolower(mail) eq tolower('ALICE@contoso.COM')", row) is True
    assert matches("tolower(n) eq 'x'", {"n": 3}) is False


# ---------------------------------------------------------------------------------------------------------
# $filter: dates and times


def test_datetime_literal_with_z() -> None:
    row = {"start": "2026-11-20T08:00:00Z"}
    assert matches("start eq 2026-11-20T08:00:00Z", row) is True
    assert matches("start gt 2026-11-20T07:59:59Z", row) is True
    assert matches("start lt 2026-11-20T07:59:59Z", row) is False


def test_datetime_literal_with_offset_compares_chronologically() -> None:
    row = {"start": "2026-11-20T08:00:00Z"}
    assert matches("start eq 2026-11-20T09:00:00+01:00", row) is True
    assert matches("start lt 2026-11-20T07:30:00-00:30", row) is False  # that is 08:00Z too
    assert matches("start le 2026-11-20T07:30:00-00:30", row) is True
    assert matches("start gt 2026-11-20T08:30:00+01:00", row) is True  # 07:30Z
    assert matches("start lt 2026-11-20T08:00:00Z", {"start": "2026-11-20T08:00:00+01:00"}) is True


def test_datetime_literal_with_fractional_seconds() -> None:
    row = {"start": "2026-11-20T08:00:00.5Z"}
    assert matches("start gt 2026-11-20T08:00:00.1234567Z", row) is True
    assert matches("start eq 2026-11-20T08:00:00.500Z", row) is True


def test_date_literal_is_midnight_utc() -> None:
    assert matches("start ge 2026-11-20", {"start": "2026-11-20T08:00:00Z"}) is True
    assert matches("start lt 2026-11-20", {"start": "2026-11-19T23:59:59Z"}) is True
    assert matches("day eq 2026-11-20", {"day": "2026-11-20"}) is True


def test_datetime_against_unparseable_or_non_string_row_value_is_false() -> None:
    for value in ("not a date", "", 20261120, True):
        for op in ("eq", "ne", "gt", "lt"):
            assert matches(f"start {op} 2026-11-20T08:00:00Z", {"start": value}) is False


# ---------------------------------------------------------------------------------------------------------
# $filter: null


def test_eq_null_and_ne_null() -> None:
    assert matches("x eq null", {}) is True
    assert matches("x eq null", {"x": None}) is True
    assert matches("x eq null", {"x": 0}) is False
    assert matches("x ne null", {}) is False
    assert matches("x ne null", {"x": ""}) is True
    assert matches("null eq x", {"x": None}) is True


def test_ordering_with_null_operand_is_false() -> None:
    for op in ("gt", "ge", "lt", "le"):
        assert matches(f"x {op} 1", {}) is False
        assert matches(f"x {op} 1", {"x": None}) is False
        assert matches(f"x {op} null", {"x": 1}) is False


def test_eq_value_against_missing_is_false_and_ne_true() -> None:
    assert matches("x eq 'a'", {}) is False
    assert matches("x ne 'a'", {}) is True


# ---------------------------------------------------------------------------------------------------------
# $filter: errors


def error_position(text: str) -> int:
    with pytest.raises(ODataError) as caught:
        compile_filter(text)
    message = str(caught.value)
    found = re.search(r"Syntax error at position (\d+) in \$filter: ", message)
    assert found is not None, message
    assert caught.value.position == int(found.group(1))
    return int(found.group(1))


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("a eqq 1", 2, "unknown operator 'eqq'"),
        ("a EQ 1", 2, "unknown operator 'EQ'"),
        ("(a eq 1 and b eq 2", 18, "expected ')' but found end of input"),
        ("a eq 1)", 6, "but found ')'"),
        ("name eq 'abc", 8, "unterminated string"),
        ("a eq 1 b eq 2", 7, "unknown operator 'b'"),
        ("frobnicate(a) eq 1", 0, "unknown function 'frobnicate'"),
        ("contains(a)", 0, "takes 2 argument(s) but got 1"),
        ("", 0, "expected an operand but found end of input"),
        ("a eq", 4, "expected an operand but found end of input"),
        ("a eq and", 5, "expected an operand but found 'and'"),
        ("a eq 1 and", 10, "expected an operand"),
        ("a eq #", 5, "unexpected character '#'"),
        ("nav/name eq 'x'", 3, "unexpected character '/'"),  # paths only where a service resolves them
        ("a eq 2026-13-45", 5, "invalid date/time literal"),
        ("a eq 12abc", 5, "invalid literal '12abc'"),
        ("contains(a,'x' b)", 15, "unknown operator 'b'"),
        ("'abc'", 0, "expected a boolean expression"),
        ("a eq 1 and 5", 11, "expected a boolean expression"),
    ],
)
def test_filter_errors_report_position(text: str, position: int, fragment: str) -> None:
    assert error_position(text) == position
    with pytest.raises(ODataError, match=re.escape(fragment)):
        compile_filter(text)


def test_odata_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="position 0"):
        compile_filter(")")


def test_errors_are_raised_at_compile_time_not_per_row() -> None:
    predicate = compile_filter("a eq 'x' or b gt 3")
    assert [predicate(row) for row in ({"a": "x"}, {"b": "4"}, {"b": 4}, {})] == [True, False, True, False]


# ---------------------------------------------------------------------------------------------------------
# $select and $orderby


def test_parse_select_strips_whitespace() -> None:
    assert parse_select("a,b , c") == ["a", "b", "c"]
    assert parse_select("_owninguser_value") == ["_owninguser_value"]


@pytest.mark.parametrize(("text", "position"), [("a,,b", 2), ("a, ", 3), ("", 0), ("a,b c", 2), ("a,1b", 2)])
def test_parse_select_rejects_empty_and_invalid_items(text: str, position: int) -> None:
    with pytest.raises(ODataError, match=rf"position {position} in \$select"):
        parse_select(text)


def test_parse_orderby() -> None:
    assert parse_orderby("name desc, createdon") == [("name", True), ("createdon", False)]
    assert parse_orderby("  a   asc ,b  desc") == [("a", False), ("b", True)]


@pytest.mark.parametrize(
    ("text", "position"), [("a desc,", 7), ("a up", 0), ("a desc x", 0), ("a, b DESC", 3)]
)
def test_parse_orderby_errors(text: str, position: int) -> None:
    with pytest.raises(ODataError, match=rf"position {position} in \$orderby"):
        parse_orderby(text)


# ---------------------------------------------------------------------------------------------------------
# sort_rows


def test_sort_none_first_ascending_and_last_descending() -> None:
    rows: list[dict[str, Any]] = [{"k": 2}, {"k": None}, {"k": 1}, {}]
    assert [r.get("k") for r in sort_rows(rows, [("k", False)])] == [None, None, 1, 2]
    assert [r.get("k") for r in sort_rows(rows, [("k", True)])] == [2, 1, None, None]


def test_sort_strings_case_sensitive_and_insensitive() -> None:
    rows = [{"n": "bob"}, {"n": "Alice"}, {"n": "carol"}, {"n": "Bob"}]
    assert [r["n"] for r in sort_rows(rows, [("n", False)])] == ["Alice", "Bob", "bob", "carol"]
    ci = sort_rows(rows, [("n", False)], case_insensitive=True)
    assert [r["n"] for r in ci] == ["Alice", "bob", "Bob", "carol"]  # stable among case-equal names


def test_sort_multi_key_is_stable() -> None:
    rows = [
        {"id": 1, "dept": "b", "age": 30},
        {"id": 2, "dept": "a", "age": 30},
        {"id": 3, "dept": "b", "age": 40},
        {"id": 4, "dept": "a", "age": 30},
    ]
    ordered = sort_rows(rows, [("dept", False), ("age", True)])
    assert [r["id"] for r in ordered] == [2, 4, 3, 1]
    assert [r["id"] for r in rows] == [1, 2, 3, 4]  # input untouched


def test_sort_mixed_types_does_not_raise() -> None:
    rows: list[dict[str, Any]] = [{"v": "x"}, {"v": 2}, {"v": True}, {"v": 1.5}, {"v": None}, {"v": [1]}]
    ordered = [r["v"] for r in sort_rows(rows, [("v", False)])]
    assert ordered[0] is None
    assert ordered.index(1.5) + 1 == ordered.index(2)  # ints and floats interleave as numbers
    assert sorted(map(repr, ordered)) == sorted(map(repr, [r["v"] for r in rows]))


def test_sort_with_empty_order_keeps_input_order() -> None:
    rows = [{"a": 2}, {"a": 1}]
    assert sort_rows(rows, []) == rows


# ---------------------------------------------------------------------------------------------------------
# $expand


def test_parse_expand_plain_and_with_select() -> None:
    items = parse_expand("emailserverprofile($select=name,oauthclientid),owninguser")
    assert items == [
        ExpandItem(
            name="emailserverprofile", select=["name", "oauthclientid"], filter=None, orderby=None, top=None
        ),
        ExpandItem(name="owninguser", select=None, filter=None, orderby=None, top=None),
    ]


def test_parse_expand_all_nested_options() -> None:
    text = "members($select=id, mail;$filter=contains(mail,'a;b,c') and n eq 1;$orderby=mail desc;$top=5)"
    (item,) = parse_expand(text)
    assert item.name == "members"
    assert item.select == ["id", "mail"]
    assert item.filter == "contains(mail,'a;b,c') and n eq 1"
    assert item.orderby == "mail desc"
    assert item.top == 5
    assert compile_filter(item.filter)({"mail": "xa;b,cx", "n": 1}) is True


def test_parse_expand_whitespace_around_items() -> None:
    names = [item.name for item in parse_expand(" a , b( $top=1 ) ,c")]
    assert names == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a($levels=2)", "unknown option '$levels'"),
        ("a($expand=b)", "unknown option '$expand'"),
        ("a(select=b)", "unknown option 'select'"),
        ("a($top=x)", "$top must be a non-negative integer"),
        ("a($top=1;$top=2)", "given twice"),
        ("a($select=b", "expected ')' but found end of input"),
        ("a),b", "unbalanced ')'"),
        ("a,,b", "empty item"),
        ("a()", "expected '$option=value'"),
        ("a($filter=name eq 'x)", "unterminated string"),
    ],
)
def test_parse_expand_errors(text: str, fragment: str) -> None:
    with pytest.raises(ODataError, match=r"position \d+ in \$expand: .*" + re.escape(fragment)):
        parse_expand(text)


def test_parse_expand_nested_filter_error_position_is_absolute() -> None:
    with pytest.raises(ODataError, match=r"position 17 in \$expand: unknown operator 'eqq'"):
        parse_expand("x,a($filter=name eqq 'b')")


def test_filter_properties_names_every_property_read_even_after_a_decided_branch() -> None:
    assert filter_properties("a eq 1 or (b eq null and not contains(tolower(c),'x'))") == ["a", "b", "c"]
    assert filter_properties("true or z eq 1") == ["z"]
    assert filter_properties("nav/name eq 'x' and a/b/c ne null", paths=True) == ["nav/name", "a/b/c"]


def test_a_resolver_reads_every_property_and_path() -> None:
    related = {"p1": {"name": "Contoso"}}

    def resolve(name: str) -> Any:
        if name == "nav/name":
            return lambda row: related.get(row.get("_nav_value"), {}).get("name")
        return lambda row: row.get(name)

    predicate = compile_filter("nav/name eq 'contoso' and n gt 1", case_insensitive=True, resolve=resolve)
    assert [predicate(row) for row in ({"_nav_value": "p1", "n": 2}, {"_nav_value": "p2", "n": 2}, {"n": 2})] \
        == [True, False, False]
