"""How large a sandbox estate may be (checks/cli.py's --environments keeps to the same bounds; a test says so)."""

from __future__ import annotations

SMALLEST_ESTATE = 14  # one environment of each kind checks/sandbox/estate.py documents
LARGEST_ESTATE = 10_000
