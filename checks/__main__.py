"""`python -m checks ...` runs xtcheck, as the `xtcheck` command does (for a machine where the scripts folder is not
on PATH, or to be sure which Python's xtcheck runs)."""

from checks.cli import run

if __name__ == "__main__":
    run()
