"""Holding alerts back on purpose: maintenance windows and accepted risks (exceptions) added
and ended, for the command line and the console alike. Each change and its audit entry are
one transaction; a wrong field raises :class:`HoldError` naming it, and nothing changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from muni_watchdog.alerts.policy import RecurrenceError, parse_recurrence
from muni_watchdog.config.models import Config
from muni_watchdog.core.when import WhenError, parse_when
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import iso


class HoldError(ValueError):
    """A window or exception that cannot be added or ended; ``field`` names the culprit."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def _required(**fields: str) -> None:
    for name, value in fields.items():
        if not (value or "").strip():
            raise HoldError(f"{name} is required", name)


def _when(text: str, field: str, tz: str, now: datetime) -> datetime:
    try:
        return parse_when(text, tz, now)
    except WhenError as exc:
        raise HoldError(f"{field}: {exc}", field) from None


def add_maintenance(config: Config, store: Store, *, targets: list[str], services: list[str],
                    site: bool, owner: str, reason: str, now: datetime,
                    start: str | None = None, end: str | None = None, every: str | None = None,
                    until: str | None = None, actor: str | None = None,
                    announcement: str | None = None
                    ) -> tuple[int, datetime, datetime, str | None]:
    """Add a one-off (``start``/``end``) or recurring (``every``, applying until ``until``,
    default a year) window; returns (id, starts, ends, recurrence). ``announcement``: the
    words the residents' status page shows for it (the reason stays internal)."""
    _required(owner=owner, reason=reason)
    unknown = [f"no target named {t} (known: {', '.join(config.target_by_id) or 'none'})"
               for t in targets if t not in config.target_by_id] + \
        [f"no service named {s} (known: {', '.join(config.service_by_id) or 'none'})"
         for s in services if s not in config.service_by_id]
    if unknown:
        raise HoldError("; ".join(unknown), "scope")
    if not (targets or services or site):
        raise HoldError("say what is in maintenance: --target, --service or --site", "scope")
    tz = config.site.timezone
    if every:
        try:
            recurrence: str | None = parse_recurrence(every).describe()
        except RecurrenceError as exc:
            raise HoldError(str(exc), "every") from None
        starts = _when(start, "start", tz, now) if start else now
        ends = _when(until, "until", tz, now) if until else now + timedelta(days=365)
    else:
        if not (start and end):
            raise HoldError("a one-off window needs --start and --end (or use --every)",
                            "end" if start else "start")
        recurrence = None
        starts, ends = _when(start, "start", tz, now), _when(end, "end", tz, now)
    if ends <= starts:
        raise HoldError("the window ends before it starts", "end")
    with store.db.atomic():
        window = store.add_maintenance(targets, services, owner.strip(), reason.strip(),
                                       starts, ends, recurrence, now,
                                       announcement=announcement)
        data = {"targets": targets, "services": services, "site": site,
                "starts": starts.isoformat(), "ends": ends.isoformat(), "every": recurrence,
                "announcement": announcement}
        if actor:
            data["owner"] = owner.strip()
        store.audit(actor or owner.strip(), "maintenance add", f"maintenance {window}",
                    reason.strip(), now, data)
    return window, starts, ends, recurrence


def end_maintenance(store: Store, window_id: int, by: str, reason: str, now: datetime) -> None:
    """End an open window now: the daemon sees it close, re-checks and summarises."""
    _required(by=by)
    if not any(r["id"] == window_id for r in store.maintenance_windows()):
        raise HoldError(f"no open maintenance window {window_id}", "id")
    with store.db.atomic():
        store.update_maintenance(window_id, ends_at=iso(now))
        store.audit(by.strip(), "maintenance end", f"maintenance {window_id}", reason, now)


def add_exception(config: Config, store: Store, *, target: str, check: str, owner: str,
                  reason: str, expires: str, now: datetime, actor: str | None = None
                  ) -> tuple[int, datetime]:
    """Accept a risk on a target (one check, or ``*``) until its mandatory expiry; returns
    (id, expires)."""
    _required(target=target, owner=owner, reason=reason, expires=expires)
    if target not in config.target_by_id:
        raise HoldError(f"no target named {target} (known: "
                        f"{', '.join(config.target_by_id) or 'none'})", "target")
    check = (check or "*").strip()
    moment = _when(expires, "expires", config.site.timezone, now)
    if moment <= now:
        raise HoldError("the expiry must be in the future", "expires")
    with store.db.atomic():
        ex = store.add_exception(target, check, owner.strip(), reason.strip(), moment, now)
        data = {"target": target, "check": check, "expires": moment.isoformat()}
        if actor:
            data["owner"] = owner.strip()
        store.audit(actor or owner.strip(), "exception add", f"exception {ex}",
                    reason.strip(), now, data)
    return ex, moment


def end_exception(store: Store, exception_id: int, by: str, reason: str, now: datetime) -> None:
    _required(by=by)
    if not any(r["id"] == exception_id for r in store.exceptions()):
        raise HoldError(f"no open exception {exception_id}", "id")
    with store.db.atomic():
        store.update_exception(exception_id, ended_at=iso(now), expiry_notified=1)
        store.audit(by.strip(), "exception end", f"exception {exception_id}", reason, now)
