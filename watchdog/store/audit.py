"""The audit log: who acknowledged, opened or ended what, when and why; append-only (triggers
refuse changes) and chained by hash, so a removed or altered entry shows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso

GENESIS = "0" * 64


def audit_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, reason: str,
               data: str) -> str:
    """SHA-256 over the previous hash and this entry's fields, in a fixed order."""
    canonical = json.dumps([prev_hash, at, actor, action, subject, reason, data],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditStore:
    """Methods for the audit log (``self.db``: a sqlite_utils Database)."""

    db: Any

    def audit(self, actor: str, action: str, subject: str, reason: str, now: datetime,
              data: dict[str, Any] | None = None) -> int:
        """Append an entry chained to the previous one by hash. Call inside a transaction."""
        last = list(self.db.query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"))
        prev = last[0]["hash"] if last else GENESIS
        at = iso(now)
        payload = json.dumps(data or {}, sort_keys=True, ensure_ascii=False)
        digest = audit_hash(prev, at, actor, action, subject, reason, payload)
        cursor = self.db.execute(
            "INSERT INTO audit_log (at, actor, action, subject, reason, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [at, actor, action, subject, reason, payload, prev, digest])
        return cursor.lastrowid

    def audit_entries(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM audit_log ORDER BY id"))

    def verify_audit(self) -> tuple[bool, str]:
        """Recompute the chain; (ok, message naming the first broken entry)."""
        prev = GENESIS
        count = 0
        for row in self.db.query("SELECT * FROM audit_log ORDER BY id"):
            if row["prev_hash"] != prev:
                return False, f"entry {row['id']}: its link to the previous entry is broken " \
                    "(an entry was removed or reordered)"
            expected = audit_hash(prev, row["at"], row["actor"], row["action"], row["subject"],
                                  row["reason"], row["data"])
            if row["hash"] != expected:
                return False, f"entry {row['id']}: its content does not match its hash " \
                    "(it was changed after it was written)"
            prev = row["hash"]
            count += 1
        return True, f"{count} entries, chain intact"
