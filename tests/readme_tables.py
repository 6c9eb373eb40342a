"""The README's generated tables and samples: each is the output of an xtcheck command between two markers, never
typed by hand.

Run `python tests/readme_tables.py` after changing a check, a probe's permissions or a scenario: it rewrites every
marked table from the commands. tests/test_cli.py only compares."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"
# marker name -> the command whose output goes between <!-- name:start --> and <!-- name:end -->
SECTIONS = {
    "checks": ("checks", "--markdown"),
    "permissions": ("checks", "--permissions"),
    "scenarios": ("sandbox", "list", "--markdown"),
    # a real run of the demo, two checks of it: no dates or ports in them, so the sample is the same every day
    "demo-sample": ("demo", "-q", "--color", "never", "--only", "EXO-005,MBX-006"),
}
SAMPLES = {"demo-sample"}  # shown as they print, in a code block; their commands exit with the run's own code


def generated(name: str) -> str:
    """What the command for `name` prints, as the README holds it."""
    from checks.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(SECTIONS[name]))
    if name in SAMPLES:
        return f"```\n$ xtcheck {' '.join(a for a in SECTIONS[name] if a not in ('--color', 'never'))}\n" \
               f"{out.getvalue()}```\n"
    if code != 0:
        raise RuntimeError(f"xtcheck {' '.join(SECTIONS[name])} exited {code}")
    return out.getvalue()


def in_readme(name: str, text: str | None = None) -> str:
    """The table between the markers for `name` in the README (or in `text`)."""
    readme = README.read_text(encoding="utf-8") if text is None else text
    return readme.split(f"<!-- {name}:start -->\n")[1].split(f"<!-- {name}:end -->")[0]


def refresh() -> list[str]:
    """Rewrite every marked table from its command; the names of those that changed."""
    text = README.read_text(encoding="utf-8")
    changed = []
    for name in SECTIONS:
        old, new = in_readme(name, text), generated(name)
        if old != new:
            text = text.replace(f"<!-- {name}:start -->\n{old}", f"<!-- {name}:start -->\n{new}")
            changed.append(name)
    README.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    sys.path.insert(0, str(README.parent))
    names = refresh()
    print(f"README: refreshed {', '.join(names)}" if names else "README: every generated table is up to date")
