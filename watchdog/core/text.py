"""Other programs' output made plain text before a person reads it in a summary or an alert.

restic draws its progress with terminal escapes (``\\x1b[2K`` clears the line, ``\\r`` goes
back to its start), a plugin may colour its verdict (``\\x1b[31mCRITICAL\\x1b[0m``), and a
hostile or broken device can send any byte. In a summary those show as garbage in an email
or an SMS, and on a terminal (``status``, the journal) they can move the cursor, hide text or
retitle the window. :func:`plain_text` keeps what a terminal would have shown and nothing
that steers it.

Applied at the edges where such output becomes our text: every check result
(:class:`~muni_watchdog.core.model.Result`), every restore-test problem, and restic's stderr
as it is read. Not to data that is parsed as bytes (NUL-separated lists, hashes), which must
stay exact.
"""

from __future__ import annotations

import re

# ECMA-48: CSI (ESC [ params intermediates final), OSC / DCS / SOS / PM / APC strings (ended
# by BEL or ST), and the two-byte escapes (ESC followed by one character, e.g. ESC c, ESC 7).
# The 8-bit CSI (U+009B) and OSC (U+009D) introducers do the same on some terminals.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?")
# What is left that a terminal would act on rather than show: C0 controls but tab and line
# feed, DEL, C1 controls, and the bidirectional overrides that reorder what is read
# ("Trojan Source", CVE-2021-42574).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _overprinted(line: str) -> str:
    """A line with carriage returns as a terminal leaves it: each ``\\r`` starts over, so the
    last non-empty part is what stays visible (restic's ``\\r[0:01] 40%\\r[0:02] 100%``)."""
    if "\r" not in line:
        return line
    parts = [part for part in line.split("\r") if part.strip()]
    return parts[-1] if parts else ""


def plain_text(text: str) -> str:
    """``text`` without terminal escapes and control characters; line breaks and tabs stay,
    a backspace or bell is dropped, and a ``\\r`` rewrite keeps its last version. Idempotent."""
    if not _CONTROL.search(text):
        return text   # the common case: nothing to do
    text = _ESCAPE.sub("", text.replace("\r\n", "\n"))
    text = "\n".join(_overprinted(line) for line in text.split("\n"))
    return _CONTROL.sub("", text)
