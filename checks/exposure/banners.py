"""Reading what a clear-text service says first (pure): a telnet server's negotiation and
prompt, an FTP greeting, an HTTP answer's status and ``<title>``, an RDP connection confirm.

Only greetings: nothing here answers a prompt. Text is made printable and cut, since it comes
from the network and ends up in a summary and an alert.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
TEXT_CAP = 120

# The X.224 Connection Request every RDP client sends first (MS-RDPBCGR 2.2.1.1): TPKT
# header, CR TPDU, and an RDP_NEG_REQ asking for TLS or CredSSP. No credentials.
RDP_CONNECTION_REQUEST = bytes.fromhex(
    "03000013"            # TPKT: version 3, length 19
    "0ee000000000" "00"   # X.224 CR: length 14, CR code, dst-ref, src-ref, class 0
    "0100080003000000")   # RDP_NEG_REQ: type 1, flags 0, length 8, PROTOCOL_SSL|HYBRID

_PROMPT = re.compile(rb"(login|username|user name|password)\s*:", re.I)
_STATUS = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+([^\r\n]*))?")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_FTP_REPLY = re.compile(rb"^(\d{3})([ -])([^\r\n]*)")


def printable(data: bytes | str, cap: int = TEXT_CAP) -> str:
    """One line of safe text: control characters become spaces, runs of space one space,
    cut at ``cap`` characters with an ellipsis."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= cap else text[:cap - 1] + "…"


def split_telnet(data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """(the text, the (command, option) negotiations) of a telnet stream (RFC 854/855);
    subnegotiations are dropped."""
    text = bytearray()
    negotiations: list[tuple[int, int]] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte != IAC:
            text.append(byte)
            i += 1
            continue
        command = data[i + 1] if i + 1 < len(data) else None
        if command in (DO, DONT, WILL, WONT) and i + 2 < len(data):
            negotiations.append((command, data[i + 2]))
            i += 3
        elif command == SB:
            end = data.find(bytes((IAC, SE)), i + 2)
            i = len(data) if end < 0 else end + 2
        elif command == IAC:
            text.append(IAC)
            i += 2
        else:
            i += 2
    return bytes(text), negotiations


def telnet_refusals(negotiations: list[tuple[int, int]]) -> bytes:
    """The replies of a client that enables nothing: WONT to every DO, DONT to every WILL
    (RFC 854's rule that lets a server go on to its prompt)."""
    out = bytearray()
    for command, option in negotiations:
        if command == DO:
            out += bytes((IAC, WONT, option))
        elif command == WILL:
            out += bytes((IAC, DONT, option))
    return bytes(out)


def is_telnet(data: bytes) -> bool:
    """Telnet negotiation or a login prompt: this is a telnet server."""
    text, negotiations = split_telnet(data)
    return bool(negotiations) or bool(_PROMPT.search(text))


def ftp_greeting(data: bytes) -> str | None:
    """The greeting text of an FTP server (``220 ProFTPD Server ready``), or None when the
    first line is not an FTP reply (RFC 959: three digits, then space or hyphen)."""
    match = _FTP_REPLY.match(data)
    if match is None or match.group(1)[:1] not in (b"1", b"2", b"4"):
        return None
    return printable(match.group(1) + b" " + match.group(3))


@dataclass(frozen=True)
class HttpPage:
    status: int
    reason: str
    location: str = ""
    title: str = ""
    server: str = ""

    @property
    def redirects_to_tls(self) -> bool:
        return 300 <= self.status < 400 and self.location.lower().startswith("https://")

    def describe(self) -> str:
        parts = [f"HTTP {self.status}"]
        if self.title:
            parts.append(f"title {self.title!r}")
        if self.location:
            parts.append(f"redirects to {self.location}")
        if self.server:
            parts.append(f"server {self.server}")
        return ", ".join(parts)


def parse_http_answer(data: bytes) -> HttpPage | None:
    """Status, Location, Server and the page's ``<title>`` from the first bytes of an HTTP
    answer; None when it is not HTTP."""
    match = _STATUS.match(data)
    if match is None:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    if not body and b"\n\n" in data:
        head, _, body = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.splitlines()[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers.setdefault(name.strip().lower().decode("latin-1"),
                               printable(value.strip(), 200))
    title_match = _TITLE.search(body)
    title = printable(html.unescape(title_match.group(1).decode("utf-8", "replace"))) \
        if title_match else ""
    return HttpPage(int(match.group(1)), printable(match.group(2) or b""),
                    headers.get("location", ""), title, headers.get("server", ""))


def is_rdp_confirm(data: bytes) -> bool:
    """A TPKT-framed X.224 Connection Confirm (code 0xD0): an RDP server answered."""
    return len(data) >= 6 and data[0] == 3 and data[1] == 0 and data[5] & 0xF0 == 0xD0
