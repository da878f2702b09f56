"""The Jinja2 environment of the HTML pages (status page, post-incident and drill reports).

Autoescaping is on for every template and undefined names are errors: a value never reaches a
page unescaped, and a typo in a template fails its test instead of printing nothing. Templates
live in ``templates/`` beside this module and ship in the wheel (setup.py takes data folders).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from muni_watchdog.alerts.updates import when_words
from muni_watchdog.core.durations import humanize

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _local(moment: datetime | None, tz: str, fmt: str = "%b %-d, %Y %H:%M") -> str:
    return "" if moment is None else moment.astimezone(ZoneInfo(tz)).strftime(fmt)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["local"] = _local
    env.filters["when"] = when_words
    env.filters["duration"] = lambda s: "" if s is None else humanize(s)
    env.filters["iso_local"] = lambda text, tz, fmt="%b %-d, %Y %H:%M": _local(
        datetime.fromisoformat(text) if text else None, tz, fmt)
    env.filters["iso_before"] = lambda text, moment: bool(text) and \
        datetime.fromisoformat(text) < moment
    return env


def render(name: str, **context: object) -> str:
    """Render template ``name`` (e.g. ``status.html.j2``) with ``context``."""
    return environment().get_template(name).render(**context)
