"""Links: the LLDP/CDP neighbours each device advertised, with when each link was first and
last seen. The table is filled by a trigger on check_runs (migration 12) from the
``neighbors`` check's items, in the run's own transaction; kept after runs are pruned."""

from __future__ import annotations

from typing import Any


class LinkStore:
    """Queries of the ``links`` table (``self.db``: a sqlite_utils Database)."""

    db: Any

    def links(self, target: str | None = None) -> list[dict[str, Any]]:
        """Every link kept (of one target), by target, local port and remote."""
        if target is None:
            return list(self.db.query("SELECT * FROM links ORDER BY target, local_port, "
                                      "remote_key"))
        return list(self.db.query("SELECT * FROM links WHERE target = ? ORDER BY local_port, "
                                  "remote_key", [target]))
