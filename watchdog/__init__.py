"""muni-watchdog: monitoring and backup-verification for small municipalities."""

__version__ = "0.1.0"
