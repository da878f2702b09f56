"""muni-watchdog: monitoring and backup-verification for small municipalities."""

# Installed as muni_watchdog; imported by its folder's name (with the repository root on
# sys.path) it would load a second copy of every module. Fail at once instead.
if __name__ != "muni_watchdog":
    raise ImportError(f"import muni_watchdog, not {__name__} (the watchdog/ folder)")

__version__ = "0.1.0"
