"""The console's pages, one module per page family, each with ``register(site)``. A module
that adds pages elsewhere in the code base is appended here (see
:mod:`muni_watchdog.web.registry`); the order is the menu's."""

from muni_watchdog.web.pages import (
    ack_links,
    audit,
    comms,
    drills,
    holds,
    incidents,
    login,
    metrics,
    network,
    now,
    reports,
    services,
    status,
)

PAGE_MODULES = (login, now, incidents, services, holds, drills, comms, reports, network, status,
                audit, ack_links, metrics)
