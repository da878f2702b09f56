"""The service catalogue: each service by priority with what the public loses (the why of its
priority), owner and backup owner, RTO, RPO and response promise, the state of its targets,
and its backups' latest restore test."""

from __future__ import annotations

from aiohttp import web

from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import State
from muni_watchdog.web.registry import Registry


def register(site: Registry) -> None:
    site.page("/services", services_page, nav="Services")


def catalogue(config, store) -> list[dict]:
    states: dict[str, list[dict]] = {}
    for row in store.current_states():
        states.setdefault(row["target"], []).append(row)
    out = []
    for service in sorted(config.services, key=lambda s: (s.priority, s.id)):
        targets = []
        for target_id in service.targets:
            rows = states.get(target_id, [])
            worst = State.worst(State(r["hard_state"]) for r in rows) if rows else None
            target = config.target_by_id.get(target_id)
            targets.append({"id": target_id, "host": getattr(target, "host", "?"),
                            "description": getattr(target, "description", ""),
                            "state": worst.label if worst is not None else "no result yet",
                            "checks": [(r["check_name"], State(r["hard_state"]).label,
                                        r["summary"]) for r in rows]})
        backups = []
        for backup_id in service.backups:
            latest = store.restore_tests(backup_id, limit=1)
            backups.append({"id": backup_id, "latest": latest[0] if latest else None,
                            "verdict": State(latest[0]["verdict"]).label if latest else None})
        out.append({"service": service, "targets": targets, "backups": backups,
                    "rto": humanize(service.rto), "rpo": humanize(service.rpo),
                    "response": humanize(service.effective_response_sla),
                    "availability": service.effective_availability_target})
    return out


async def services_page(request, console) -> web.StreamResponse:
    return console.render(request, "services.html", title="Services",
                          services=catalogue(console.config, console.store))
