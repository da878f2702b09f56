"""How pages join the console: each page module has ``register(site)`` and calls, on the
:class:`Registry` it is given,

* ``site.page(path, handler, title=..., nav=..., role=..., nav_when=...)`` for a GET page
  (``nav``: its label in the menu, in registration order; ``nav_when``: a test of the
  configuration for showing it there; ``role``: ``viewer``, ``oncall``, ``admin``, or
  ``None`` for a public page such as the status page);
* ``site.action(path, handler, role=...)`` for a POST: a logged-in user of that role, with
  the session's CSRF token checked before the handler runs (public forms: ``role=None``,
  ``csrf=False`` and their own token, as the acknowledge links and the login do);
* ``site.api(path, handler, role=...)`` for JSON;
* ``site.templates(folder)`` to add a folder of Jinja2 templates (extending ``base.html``).

A handler is ``async def handler(request, console) -> web.StreamResponse``; it renders with
``console.render(request, "page.html", **values)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("viewer", "oncall", "admin")
Handler = Callable[..., Awaitable[Any]]


def allows(role: str | None, needed: str | None) -> bool:
    """Does a user of ``role`` (None: not logged in) reach something that needs ``needed``?"""
    if needed is None:
        return True
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    role: str | None
    csrf: bool = True
    kind: str = "page"       # page, action, api


@dataclass(frozen=True)
class NavEntry:
    path: str
    label: str
    role: str | None
    when: Callable[[Any], bool] | None = None    # shown only if when(config)


@dataclass
class Registry:
    routes: list[Route] = field(default_factory=list)
    nav: list[NavEntry] = field(default_factory=list)
    template_dirs: list[Path] = field(default_factory=list)

    def page(self, path: str, handler: Handler, *, nav: str | None = None,
             role: str | None = "viewer",
             nav_when: Callable[[Any], bool] | None = None) -> None:
        self.routes.append(Route("GET", path, handler, role))
        if nav:
            self.nav.append(NavEntry(path, nav, role, nav_when))

    def action(self, path: str, handler: Handler, *, role: str | None = "oncall",
               csrf: bool = True) -> None:
        self.routes.append(Route("POST", path, handler, role, csrf, "action"))

    def api(self, path: str, handler: Handler, *, role: str | None = "viewer") -> None:
        self.routes.append(Route("GET", path, handler, role, kind="api"))

    def templates(self, folder: Path) -> None:
        self.template_dirs.append(Path(folder))
