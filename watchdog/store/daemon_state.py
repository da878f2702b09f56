"""Small daemon state (daemon_state: key -> value), among it the items the alert loop could
not process (see :mod:`muni_watchdog.alerting.isolation`), which ``status`` shows."""

from __future__ import annotations

import json
from typing import Any

ALERT_ERROR = "alert-error:"
CONFIG_PATH_KEY = "config_path"   # the file the daemon runs with, for the command line


class DaemonStateStore:
    """Methods for the daemon_state table (``self.db``: a sqlite_utils Database)."""

    db: Any

    def get_state(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM daemon_state WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    def set_state(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO daemon_state (key, value) VALUES (?, ?) ON CONFLICT(key) "
                        "DO UPDATE SET value = excluded.value", [key, value])

    def alert_errors(self) -> dict[str, dict[str, str]]:
        """Items the alert loop could not process: key -> {subject, target, check, error,
        since}. Kept in daemon_state so that `status` can show them."""
        return {r["key"].removeprefix(ALERT_ERROR): json.loads(r["value"]) for r in
                self.db.query("SELECT key, value FROM daemon_state WHERE key LIKE ? ORDER BY "
                              "key", [ALERT_ERROR + "%"])}

    def replace_alert_errors(self, errors: dict[str, dict[str, str]]) -> None:
        self.db.execute("DELETE FROM daemon_state WHERE key LIKE ?", [ALERT_ERROR + "%"])
        for key, record in errors.items():
            self.set_state(ALERT_ERROR + key, json.dumps(record, sort_keys=True))
