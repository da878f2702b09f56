"""Who is asking: signed session cookies (HttpOnly, SameSite=Strict, Secure under TLS), CSRF
tokens bound to the session, the check that a form comes from the console's own pages, and
the login rate limit."""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from muni_watchdog.config.web import WebConfig, WebUser
from muni_watchdog.core.signing import TokenError, mac, same, sign, unsign

SESSION_COOKIE = "mw_session"
LOGIN_COOKIE = "mw_login"

# fail2ban's defaults (jail.conf: maxretry 5 within findtime 10m, bantime 10m), applied per
# address and per user name: a guessed password costs ten minutes after five tries.
MAX_FAILURES = 5
FIND_TIME = 600.0
BAN_TIME = 600.0


@dataclass(frozen=True)
class Session:
    user: WebUser
    sid: str
    expires: float


def session_cookie(key: bytes, user: WebUser, lifetime: float, now: float) -> tuple[str, str]:
    """(cookie value, session id) of a new login."""
    sid = secrets.token_urlsafe(16)
    return sign(key, "session", {"u": user.name, "s": sid, "e": int(now + lifetime)}), sid


def read_session(key: bytes, web: WebConfig, value: str | None, now: float) -> Session | None:
    """The session of a cookie, or None: unsigned, expired, or its user no longer configured
    (removing a user from the configuration logs them out at the next request)."""
    if not value:
        return None
    try:
        payload = unsign(key, "session", value)
        expires = float(payload["e"])
        user = web.user(str(payload["u"]))
        sid = str(payload["s"])
    except (TokenError, KeyError, TypeError, ValueError):
        return None
    if user is None or now >= expires:
        return None
    return Session(user, sid, expires)


def csrf_token(key: bytes, binding: str) -> str:
    """The CSRF token of a form bound to a session id (or to an acknowledge link, or to the
    login cookie): another site can neither read nor make it."""
    return mac(key, "csrf", binding)


def csrf_ok(key: bytes, binding: str | None, given: str | None) -> bool:
    return bool(binding) and bool(given) and same(str(given), csrf_token(key, str(binding)))


def same_origin(origin: str | None, fetch_site: str | None, allowed: set[str]) -> bool:
    """A state-changing request must come from the console's own pages: browsers send
    ``Origin`` with every POST (and ``Sec-Fetch-Site``); a request without them is not a
    browser's cross-site form, so it is judged by its CSRF token alone."""
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return False
    if origin is None:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}".lower() in allowed


class LoginLimiter:
    """Failed logins per address and per user name; either over the limit refuses logins (a
    correct password included) until the ban has passed."""

    def __init__(self, max_failures: int = MAX_FAILURES, find_time: float = FIND_TIME,
                 ban_time: float = BAN_TIME, clock=time.monotonic):
        self.max_failures = max_failures
        self.find_time = find_time
        self.ban_time = ban_time
        self.clock = clock
        self.failures: dict[str, deque[float]] = {}
        self.banned_until: dict[str, float] = {}

    def _keys(self, address: str, user: str) -> list[str]:
        return [f"addr:{address}", f"user:{user.lower()}"]

    def blocked_for(self, address: str, user: str) -> float:
        """Seconds until a login from ``address`` as ``user`` is allowed again (0: now)."""
        now = self.clock()
        return max([self.banned_until.get(k, 0.0) - now for k in self._keys(address, user)]
                   + [0.0])

    def failed(self, address: str, user: str) -> None:
        now = self.clock()
        for key in self._keys(address, user):
            times = self.failures.setdefault(key, deque())
            times.append(now)
            while times and times[0] < now - self.find_time:
                times.popleft()
            if len(times) >= self.max_failures:
                self.banned_until[key] = now + self.ban_time
                times.clear()
        if len(self.failures) > 10_000:  # bounded: forget the oldest
            for key in list(self.failures)[:5_000]:
                del self.failures[key]

    def succeeded(self, address: str, user: str) -> None:
        for key in self._keys(address, user):
            self.failures.pop(key, None)
