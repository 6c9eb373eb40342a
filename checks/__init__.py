"""xtcheck: read-only checks for Dynamics 365 server-side sync with Exchange Online in another tenant."""

__version__ = "0.1.0"
