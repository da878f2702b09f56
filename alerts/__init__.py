"""Alerts: the policy (when to tell whom), routing, rendering and sending of messages."""

# Installed as muni_watchdog.alerts; imported by its folder's name (with the repository root on
# sys.path) it would load a second copy of every module. Fail at once instead.
if __name__ != "muni_watchdog.alerts":
    raise ImportError(f"import muni_watchdog.alerts, not {__name__} (the alerts/ folder)")
