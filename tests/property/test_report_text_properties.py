"""How reports show tenant text, property-based: `visible` leaves nothing hidden, keeps what was visible, and is
idempotent; `json_visible` changes how a JSON document is written, never what it says."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from checks.text import json_visible, visible

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "xtcheck-hypothesis")  # its caches: not in the project
EXAMPLES = settings(max_examples=200, deadline=None, database=None)
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
TEXT = st.text(alphabet=st.characters(codec=None) | st.sampled_from("\x1b\r\x00\x9b\u202e\u2028\ud800\t\n\\"))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                       max_leaves=12)


@EXAMPLES
@given(text=TEXT)
def test_visible_leaves_nothing_hidden_and_keeps_the_rest(text: str) -> None:
    shown = visible(text)
    assert not HIDDEN.search(shown)
    assert visible(shown) == shown
    rest = iter(shown)
    assert all(c in rest for c in text if not HIDDEN.match(c)), "what was visible is kept, in order"
    assert len(shown) == len(text) + sum(len(repr(c)) - 3 for c in HIDDEN.findall(text))
    shown.encode("utf-8")  # always encodable, even with lone surrogates in the data


@EXAMPLES
@given(value=JSONISH)
def test_json_visible_writes_the_same_document(value: Any) -> None:
    written = json_visible(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(written) == value
    assert not HIDDEN.search(written.replace("\n", ""))
    written.encode("utf-8")
