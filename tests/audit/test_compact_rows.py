"""Large reads held compactly: rows equal to what was parsed, a fraction of the memory, odd rows left alone."""

from __future__ import annotations

import json
import sys

from checks.probes.rows import compact


def parsed(count: int) -> list[dict[str, object]]:
    """Rows as the JSON parser makes them: two dozen columns each, the way a Dataverse page holds mailboxes."""
    columns = [f"column{n}" for n in range(24)]
    return json.loads(json.dumps([{c: (None if n % 5 == 0 else f"{c}-{i}") for n, c in enumerate(columns)}
                                  for i in range(count)]))


def test_compact_rows_are_equal_to_the_parsed_ones_and_take_a_fraction_of_their_memory() -> None:
    rows = parsed(200)
    before = json.loads(json.dumps(rows))
    kept = compact(rows)
    assert kept is rows  # in place: each parsed row is freed as its copy is made
    assert rows == before and [list(r) for r in rows] == [list(r) for r in before]
    assert sys.getsizeof(rows[1]) * 2 < sys.getsizeof(before[1])


def test_a_row_with_other_columns_stays_as_it_was() -> None:
    rows = parsed(3)
    odd = {**rows[1], "extra": 1}
    rows[1] = odd
    missing = dict(rows[2])
    missing.pop("column3")
    rows[2] = missing
    compact(rows)
    assert rows[1] is odd and rows[2] is missing
    assert compact([]) == []


def test_a_compact_row_changes_like_any_dict() -> None:
    rows = compact(parsed(2))
    rows[0]["column1"] = "changed"
    rows[0].pop("column2")
    rows[0]["new"] = True
    assert rows[0]["column1"] == "changed" and "column2" not in rows[0] and rows[0]["new"] is True
    assert rows[1]["column1"] == "column1-1" and rows[1]["column2"] == "column2-1"  # its neighbour is untouched
