"""What every page of the console is given: the :class:`Console` (configuration, the daemon's
state database connection, signing key, clock, templates) and small response helpers.

Templates are Jinja2 with autoescaping for every template (not only *.html), so a reason
typed with ``<script>`` in it is shown as text on every page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from muni_watchdog.alerting.ack_links import AckLinks
from muni_watchdog.config.models import Config
from muni_watchdog.store.database import Store
from muni_watchdog.web.auth import LoginLimiter, Session, csrf_token
from muni_watchdog.web.registry import Registry, allows

log = logging.getLogger("muni-watchdog")
HERE = Path(__file__).resolve().parent


class Console:
    """What the pages share: the configuration (replaced on reload), the store, the signing
    key, the clock, the state directory, the login limiter and the templates."""

    def __init__(self, config: Config, store: Store, state_dir: Path, key: bytes,
                 clock: Callable[[], datetime], registry: Registry):
        self.config = config
        self.store = store
        self.state_dir = Path(state_dir)
        self.key = key
        self.clock = clock
        self.registry = registry
        self.limiter = LoginLimiter()
        self.status_cache: Any = None      # the public status page's files (pages/status.py)
        self.network_cache: Any = None     # the network diagram being drawn (pages/network.py)
        self.load_templates()

    def load_templates(self) -> None:
        """The template folders: the registered pages' own first, then the console's."""
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in
                                      [*self.registry.template_dirs, HERE / "templates"]])
        self.templates = jinja2.Environment(loader=loader, autoescape=True,
                                            undefined=jinja2.StrictUndefined)
        self.templates.filters["local"] = self.local
        self.templates.filters["ago"] = self.ago

    @property
    def web(self):
        assert self.config.site.web is not None
        return self.config.site.web

    @property
    def links(self) -> AckLinks:
        return AckLinks(self.config, self.store, self.key)

    def update(self, config: Config) -> None:
        """A reloaded configuration (same listener): users, names, services take effect."""
        self.config = config

    # -- helpers for pages ------------------------------------------------------------------

    def local(self, moment: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if not moment:
            return "-"
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(ZoneInfo(self.config.site.timezone)).strftime(fmt)

    def ago(self, moment: str | None) -> str:
        from muni_watchdog.core.durations import humanize
        if not moment:
            return "-"
        seconds = (self.clock() - datetime.fromisoformat(moment)).total_seconds()
        return humanize(max(seconds, 0)) + " ago"

    def session(self, request: web.Request) -> Session | None:
        return request.get("session")

    def csrf(self, request: web.Request) -> str:
        session = self.session(request)
        return csrf_token(self.key, session.sid) if session else ""

    def owners(self) -> dict[str, str]:
        return {s.id: s.owner.name for s in self.config.services}

    def render(self, request: web.Request, template: str, status: int = 200,
               **values: Any) -> web.Response:
        session = self.session(request)
        role = session.user.role if session else None
        nav = [n for n in self.registry.nav if (n.role is None or allows(role, n.role))
               and (n.when is None or n.when(self.config))]
        values.setdefault("title", "Console")
        page = self.templates.get_template(template).render(
            site=self.config.site, user=session.user if session else None, nav=nav,
            csrf=self.csrf(request), path=request.path, allows=lambda r: allows(role, r),
            **values)
        return web.Response(text=page, status=status, content_type="text/html",
                            charset="utf-8")

    def message(self, request: web.Request, status: int, title: str, text: str,
                **values: Any) -> web.Response:
        """A page that only says something (not found, expired link, forbidden...)."""
        return self.render(request, "message.html", status=status, title=title, text=text,
                           **values)

    def allowed_origins(self, request: web.Request) -> set[str]:
        origins = {f"{request.scheme}://{request.host}".lower()}
        if self.web.public_url:
            parts = urlsplit(self.web.public_url)
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
        return origins

    def client_address(self, request: web.Request) -> str:
        """The peer, or the address a trusted reverse proxy says it forwards for."""
        peer = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded and peer in self.web.trusted_proxies:
            return forwarded.split(",")[-1].strip() or peer
        return peer


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser GETs the page (a reload repeats nothing)."""
    return web.Response(status=303, headers={"Location": location})
