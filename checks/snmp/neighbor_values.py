"""How the values of neighbour tables read: octets as text or hex, MAC addresses, IP
addresses, LLDP chassis and port ids by subtype, capability bits. Pure, tolerant of the wrong
type and of binary where text was expected (agents do both)."""

from __future__ import annotations

import ipaddress
import re

from muni_watchdog.checks.snmp.values import Value, bits, text

# LldpSystemCapabilitiesMap bit numbers; CDP's capability bits mapped onto the same words
# (CDP spec: 0x01 router, 0x02 trans-bridge, 0x04 source-route bridge, 0x08 switch, 0x10 host,
# 0x40 repeater, 0x80 phone).
LLDP_CAPABILITIES = {0: "other", 1: "repeater", 2: "bridge", 3: "wlan-access-point",
                     4: "router", 5: "telephone", 6: "docsis-cable-device", 7: "station"}
CDP_CAPABILITIES = {0x01: "router", 0x02: "bridge", 0x04: "bridge", 0x08: "bridge",
                    0x10: "station", 0x40: "repeater", 0x80: "telephone"}
IANA_IPV4, IANA_IPV6 = 1, 2         # IANA-ADDRESS-FAMILY-NUMBERS-MIB
MAC_TEXT = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$|"
                      r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$", re.I)


def _octets(value: Value | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return str(value).encode()
    return value.encode("latin-1", "replace")


def printable(value: Value | None) -> str | None:
    """The value as text when it is text: UTF-8, else Latin-1 (old agents), every character
    printable, trailing NULs dropped; None for binary (a MAC, an address, garbage)."""
    raw = _octets(value).rstrip(b"\x00")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    if not decoded or not all(c.isprintable() or c in "\r\n\t" for c in decoded):
        return None
    return text(decoded) or None


def hex_text(value: Value | None) -> str | None:
    raw = _octets(value)
    return ":".join(f"{b:02x}" for b in raw) if raw else None


def octets_text(value: Value | None) -> str | None:
    """Printable text, else colon-separated hex: binary never reaches a person raw."""
    return printable(value) or hex_text(value)


def mac_text(value: Value | None) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from six octets or from a MAC written as text in any usual
    notation (``00:1A:2B:..``, ``00-1a-2b-..``, ``001a.2b3c.4d5e``); None otherwise."""
    raw = _octets(value)
    if len(raw) == 6:
        candidate = printable(raw)
        if candidate is None or not MAC_TEXT.match(candidate):
            return ":".join(f"{b:02x}" for b in raw)
    shown = printable(raw)
    if shown and MAC_TEXT.match(shown):
        digits = re.sub(r"[^0-9a-fA-F]", "", shown).lower()
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return None


def ip_text(raw: bytes) -> str | None:
    """An IPv4 or IPv6 address from text an agent sent, else from its 4 or 16 octets; None
    for the unspecified address (0.0.0.0: "not manageable" in CDP)."""
    shown = printable(raw)
    address = None
    if shown and ("." in shown or ":" in shown):
        try:
            address = ipaddress.ip_address(shown)
        except ValueError:
            address = None
    if address is None and len(raw) in (4, 16):
        address = ipaddress.ip_address(raw)
    return None if address is None or address.is_unspecified else str(address)


def network_address(value: Value | None) -> str | None:
    """An LLDP networkAddress: one IANA address-family octet, then the address."""
    raw = _octets(value)
    if len(raw) in (5, 17) and raw[0] in (IANA_IPV4, IANA_IPV6):
        return ip_text(raw[1:])
    return ip_text(raw)


def chassis_id(subtype: int | None, value: Value | None) -> str | None:
    if subtype == 4:
        return mac_text(value) or octets_text(value)
    if subtype == 5:
        return network_address(value) or octets_text(value)
    return octets_text(value)


def port_id(subtype: int | None, value: Value | None) -> str | None:
    if subtype == 3:
        return mac_text(value) or octets_text(value)
    if subtype == 4:
        return network_address(value) or octets_text(value)
    return octets_text(value)


def first_line(value: Value | None) -> str | None:
    """The first non-empty line (Cisco's sysDescr runs over four)."""
    shown = printable(value)
    if shown is None:
        return None
    raw = _octets(value).decode("utf-8", "replace").replace("\r", "\n")
    line = next((text(part) for part in raw.split("\n") if text(part)), "")
    return line[:255] or None


def lldp_capabilities(value: Value | None) -> list[str]:
    return sorted({LLDP_CAPABILITIES[b] for b in bits(value) if b in LLDP_CAPABILITIES})


def cdp_capabilities(value: Value | None) -> list[str]:
    """cdpCacheCapabilities: four octets, big-endian (an INTEGER from odd agents)."""
    number = value if isinstance(value, int) else int.from_bytes(_octets(value)[:4], "big")
    return sorted({word for bit, word in CDP_CAPABILITIES.items() if number & bit})
