"""What the terminal xtcheck writes to can take: colour, and how wide a line may be. The environment is handed in
(commands read it at the edge); nothing here reads it on its own."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import TextIO

COLOR_CHOICES = ("auto", "always", "never")
NARROWEST, WIDEST = 60, 160  # a line wraps at the terminal's width, within these bounds


def use_color(choice: str, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """`--color always|never` decide; `auto` (the default) follows the conventions: NO_COLOR (set and not empty: no
    colour, https://no-color.org), then FORCE_COLOR (set, and not 0 or false: colour, even into a pipe), then
    TERM=dumb (no colour), then whether the stream is a terminal."""
    if choice in ("always", "never"):
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "").strip().lower() not in ("", "0", "false"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def line_width(stream: TextIO, environ: Mapping[str, str]) -> int | None:
    """How wide the console report's lines may be on a terminal (COLUMNS first, as `shutil` reads it), within
    NARROWEST and WIDEST; None when the stream is not a terminal: a file or a pipe gets whole lines, for grep."""
    if not _isatty(stream):
        return None
    columns = environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else shutil.get_terminal_size().columns
    return max(NARROWEST, min(WIDEST, width))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, or an object that is no file
        return False
