"""Acknowledge links that must be short (an SMS has 160 characters): a random token kept here
stands for (incident, recipient, expiry); the long links carry the same, signed, in the URL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso


class AckLinkStore:
    """Methods for the ack_links table (``self.db``: a sqlite_utils Database)."""

    db: Any

    def add_short_link(self, token: str, incident_id: int, recipient: str, now: datetime,
                       expires: datetime) -> None:
        self.db.execute("INSERT INTO ack_links (token, incident_id, recipient, created_at, "
                        "expires_at) VALUES (?, ?, ?, ?, ?)",
                        [token, incident_id, recipient, iso(now), iso(expires)])

    def short_link(self, token: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM ack_links WHERE token = ?", [token]))
        return rows[0] if rows else None

    def prune_short_links(self, before: datetime) -> int:
        """Forget links that expired before ``before`` (a week after expiry, so that a late
        tap still hears "expired" rather than "unknown")."""
        cursor = self.db.execute("DELETE FROM ack_links WHERE expires_at < ?", [iso(before)])
        return cursor.rowcount
