"""What leadership reads instead of ids: target and check names, and why an incident was held.

A monthly report never shows ``front-desk-printer/tcp``: it says "front-desk-printer (network
port)", or the target's description when it has one. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from muni_watchdog.alerts.policy import held_by_parent
from muni_watchdog.checks.impact import check_type_info

# What a device of each SNMP class (checks.snmp.system.DEVICE_CLASSES) is called in a sentence.
DEVICE_WORDS = {"network": "switch", "wireless": "wireless access point",
                "firewall": "firewall", "ups": "UPS", "printer": "printer",
                "storage": "storage system", "server": "server"}
KIND_WORDS = {"ssh": "server", "snmp": "device", "http": "web server", "tcp": "device"}
BACKUP_PREFIX = "backup:"


def target_name(config: Any, target_id: str) -> str:
    """The target's description when it has one, else its id; "backup X" for restore tests."""
    if target_id.startswith(BACKUP_PREFIX):
        return f"backup {target_id[len(BACKUP_PREFIX):]}"
    target = config.target_by_id.get(target_id)
    return (getattr(target, "description", "") or "").strip() or target_id


def check_type_of(config: Any, target_id: str, check_name: str) -> str:
    target = config.target_by_id.get(target_id)
    for params in getattr(target, "checks", None) or ():
        if params.check_name == check_name:
            return params.check
    return check_name


def check_label(config: Any, target_id: str, check_name: str) -> str:
    """"pay.town.example (website)"; a named check keeps its name: "mail (network port
    smtp)"."""
    kind = check_type_of(config, target_id, check_name)
    plain = check_type_info(kind).plain_name
    if check_name != kind:
        plain = f"{plain} {check_name}"
    return f"{target_name(config, target_id)} ({plain})"


def device_word(config: Any, target_id: str, current: Sequence[dict[str, Any]]) -> str:
    """"switch", "UPS", "server"...: from the device class its SNMP checks found, else from
    the target's kind."""
    for row in current:
        if row["target"] != target_id:
            continue
        for item in json.loads(row.get("items") or "[]"):
            word = DEVICE_WORDS.get(item.get("device_class") or "")
            if word:
                return word
    target = config.target_by_id.get(target_id)
    return KIND_WORDS.get(getattr(target, "kind", ""), "device")


def held_words(reason: str | None, config: Any, current: Sequence[dict[str, Any]]) -> str:
    """Why nobody was called about an incident, from its suppression reason."""
    parent = held_by_parent(reason)
    if parent is not None:
        return f"held: its {device_word(config, parent, current)} " \
               f"{target_name(config, parent)} was down"
    if reason is None:
        return "nobody was notified"
    if reason.startswith("maintenance: "):
        return f"held by maintenance ({reason[len('maintenance: '):]})"
    if reason.startswith("accepted risk: "):
        return f"held by an accepted risk ({reason[len('accepted risk: '):]})"
    if reason == "flapping":
        return "held while it kept changing state"
    return f"held ({reason})"
