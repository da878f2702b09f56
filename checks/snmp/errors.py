"""The errors of an SNMP collection (here, not in the client, so the pure walk bookkeeping
of :mod:`checks.snmp.walk` can raise them without importing the I/O)."""

from __future__ import annotations

from collections.abc import Mapping

from muni_watchdog.checks.base import CollectError


class SnmpError(CollectError):
    """A request or a poll failed. ``reason``: host_down, no_agent, no_answer, credentials,
    protocol, config, or incomplete (a walk that could not be finished: :class:`WalkError`).
    The engine turns it into UNKNOWN with the message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class WalkError(SnmpError):
    """Subtrees whose walk ended early: ``failed`` maps each such root to why (OID not
    increasing, a cap reached, ...). ``complete`` holds the values of the subtrees that did
    finish, so the checks that need only those still get a full answer — a partial subtree
    is never handed out."""

    def __init__(self, failed: Mapping[str, str], complete: Mapping | None = None):
        self.failed = dict(failed)
        self.complete = dict(complete or {})
        root, why = next(iter(self.failed.items()))
        more = f" (and {len(self.failed) - 1} more subtrees)" if len(self.failed) > 1 else ""
        super().__init__("incomplete", f"SNMP walk of {root}{more} did not finish: {why}; "
                         "its table would be incomplete, so nothing is judged from it")

    def only(self, roots) -> WalkError | None:
        """This error restricted to ``roots`` (None when none of them failed)."""
        failed = {root: why for root, why in self.failed.items() if root in roots}
        return WalkError(failed) if failed else None


class PduError(Exception):
    """The agent answered with an error-status (tooBig 1, noSuchName 2, genErr 5, ...)."""

    def __init__(self, status: int, index: int, text: str):
        super().__init__(text)
        self.status, self.index, self.text = status, index, text
