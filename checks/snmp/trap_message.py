"""A received trap, decoded: the record that both receivers (v1/v2c in :mod:`.traps`, v3 in
:mod:`.traps_v3`) hand to the same mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"   # snmpTrapOID.0: the var-bind naming a v2c/v3 trap


@dataclass(frozen=True)
class Trap:
    """A decoded trap: who sent it, its trap OID (v1 traps converted per RFC 3584) and
    var-binds."""

    sender: str
    version: int
    community: bytes
    trap_oid: str
    varbinds: Mapping[str, Any] = field(default_factory=dict)
    inform_request_id: int | None = None
