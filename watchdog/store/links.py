"""Links: the LLDP/CDP neighbours each device advertised, with when each link was first and
last seen. The table is filled by :func:`record_links` from the ``neighbors`` check's items
(``kind: neighbor``, whatever the check is named), in the run's own transaction; kept after
runs are pruned."""

from __future__ import annotations

from typing import Any

# One statement: every neighbour item of a run's items (JSON) upserted, first seen kept as the
# earliest (the device's own "first seen" when it says), last seen the run's time.
_UPSERT = """
    INSERT INTO links (target, local_port, remote_key, protocol, local_port_index,
                       remote_name, remote_port, remote_platform, remote_address,
                       remote_chassis_id, first_seen, last_seen)
    SELECT :target, json_extract(value, '$.local_port'), json_extract(value, '$.remote_key'),
           json_extract(value, '$.protocol'), json_extract(value, '$.local_port_index'),
           json_extract(value, '$.remote_name'), json_extract(value, '$.remote_port'),
           json_extract(value, '$.remote_platform'), json_extract(value, '$.remote_address'),
           json_extract(value, '$.remote_chassis_id'),
           min(:started_at, coalesce(strftime('%Y-%m-%dT%H:%M:%f+00:00',
                                                 json_extract(value, '$.first_seen')),
                                        :started_at)),
           :started_at
    FROM json_each(:items)
    WHERE json_extract(value, '$.kind') = 'neighbor'
      AND json_extract(value, '$.local_port') IS NOT NULL
      AND json_extract(value, '$.remote_key') IS NOT NULL
    ON CONFLICT (target, local_port, remote_key) DO UPDATE SET
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        protocol = CASE WHEN excluded.last_seen >= last_seen THEN excluded.protocol
                        ELSE protocol END,
        local_port_index = coalesce(excluded.local_port_index, local_port_index),
        remote_name = coalesce(excluded.remote_name, remote_name),
        remote_port = coalesce(excluded.remote_port, remote_port),
        remote_platform = coalesce(excluded.remote_platform, remote_platform),
        remote_address = coalesce(excluded.remote_address, remote_address),
        remote_chassis_id = coalesce(excluded.remote_chassis_id, remote_chassis_id)
"""


def record_links(conn: Any, target: str, started_at: str, items: str) -> None:
    """Keep the links a run's ``items`` (JSON text) advertise; ``started_at`` in the store's
    form. Cheap for every other check: only items naming a neighbour are parsed."""
    if '"neighbor"' in items:
        conn.execute(_UPSERT, {"target": target, "started_at": started_at, "items": items})


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
