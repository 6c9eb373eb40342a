"""The one HTTP seam: every request xtcheck sends is built and checked here."""
