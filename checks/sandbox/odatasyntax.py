"""What every OData query-option parser shares: ODataError with its option and 0-based position, and identifiers."""

from __future__ import annotations

import re

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ODataError(ValueError):
    """A query option that cannot be parsed; the message names the option and the 0-based position."""

    def __init__(self, message: str, *, option: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.position = position


def syntax_error(option: str, position: int, detail: str) -> ODataError:
    message = f"Syntax error at position {position} in {option}: {detail}"
    return ODataError(message, option=option, position=position)
