"""Backup verification: restic restore tests, integrity checks, canaries and drills."""

# Installed as muni_watchdog.backup_tests; imported by its folder's name (with the repository root on
# sys.path) it would load a second copy of every module. Fail at once instead.
if __name__ != "muni_watchdog.backup_tests":
    raise ImportError(f"import muni_watchdog.backup_tests, not {__name__} (the backup_tests/ folder)")
