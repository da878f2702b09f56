"""The assessment's markup helpers: escaping, dates in the site's time zone, tables whose
cells are already HTML, marked words, and Graphviz's SVG made ready to inline. Pure."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SUPPORT = {"supported": ("good", "supported until {end}"), "ending_soon": (
    "warn", "support ends {end}"), "out_of_support": ("bad", "out of support since {end}"),
    "unknown": ("unknown", "not known")}


def e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def date_text(moment: datetime | None, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%B %-d, %Y") if moment else "-"


def short_date(moment: datetime | None, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%b %-d, %Y") if moment else "-"


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
          ) -> str:
    """A table whose cells are already HTML."""
    cls = [' class="num"' if i in numeric else "" for i in range(len(head))]
    top = "".join(f"<th{c}>{e(h)}</th>" for h, c in zip(head, cls, strict=True))
    body = "".join("<tr>" + "".join(f"<td{c}>{cell}</td>" for cell, c in
                                     zip(row, cls, strict=True)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{top}</tr></thead><tbody>{body}' \
           "</tbody></table></div>"


def mark(cls: str, text: str) -> str:
    return f'<span class="{cls}">{e(text)}</span>'


def inline_svg(svg: str) -> str:
    """Graphviz's SVG without its XML prolog and doctype, scaled to the page's width."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    return re.sub(r'^<svg width="[^"]*" height="[^"]*"', '<svg role="img" '
                  'aria-label="network diagram" preserveAspectRatio="xMidYMin meet"', body,
                  count=1)


def support_words(row: dict[str, Any]) -> str:
    cls, text = SUPPORT.get(row.get("os_support") or "unknown", SUPPORT["unknown"])
    if row.get("os_support") is None:
        return mark("unknown", "-")
    return mark(cls, text.format(end=row.get("support_ends") or "?"))
