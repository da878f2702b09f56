"""The SNMP trap receiver as a site job: (re)started for the snmp targets of each configuration
(v1/v2c senders by community, v3 by USM user); each trap is a result of the check ``traps``
of its target."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

from muni_watchdog.config.models import Config
from muni_watchdog.core.model import CheckKey, Outcome, Result
from muni_watchdog.core.secrets import SecretError, read_secret
from muni_watchdog.daemon.runtime import Runtime, SiteJob

log = logging.getLogger("muni-watchdog")


class TrapListener(SiteJob):
    def __init__(self) -> None:
        self.receiver: Any = None
        self.config: Config | None = None
        self.runtime: Runtime | None = None

    def check_keys(self, config: Config) -> set[CheckKey]:
        return {CheckKey(t.id, "traps") for t in config.targets if t.kind == "snmp"}

    async def install(self, config: Config, runtime: Runtime) -> None:
        """(Re)start the SNMP trap receiver for the snmp targets of ``config`` (v1/v2c by
        community, v3 by USM user)."""
        from muni_watchdog.checks.snmp.traps import TrapReceiver
        from muni_watchdog.checks.snmp.traps_v3 import V3User
        self.config, self.runtime = config, runtime
        await self.close()
        settings = config.site.snmp_traps
        if not settings.enabled:
            return
        senders: dict[str, tuple[str, bytes]] = {}
        v3_users: dict[str, tuple[str, V3User]] = {}
        for target in config.targets:
            c = getattr(target, "snmp", None)
            if target.kind != "snmp" or c is None:
                continue
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(target.host, None)
                if c.version == "3":
                    user = V3User(c.user, c.auth_protocol, c.auth_ref and read_secret(c.auth_ref),
                                  c.priv_protocol, c.priv_ref and read_secret(c.priv_ref))
                else:
                    community = read_secret(c.community_ref).encode()
            except (OSError, SecretError) as exc:
                log.warning("traps: target=%s cannot be a trap sender: %s", target.id, exc)
                continue
            for info in infos:
                if c.version == "3":
                    v3_users[info[4][0]] = (target.id, user)
                else:
                    senders[info[4][0]] = (target.id, community)
        try:
            self.receiver = await TrapReceiver(senders, self._trap_event, settings.port,
                                               settings.bind, v3_users).start()
        except OSError as exc:
            log.error("traps: cannot listen on %s:%d: %s (port 162 needs privileges; see the "
                      "unit file's note, or use a port above 1023)", settings.bind,
                      settings.port, exc)
            return
        log.info("traps: listening on %s:%d for %d senders", settings.bind,
                 self.receiver.port, len(senders) + len(v3_users))

    def _trap_event(self, event) -> None:
        config, runtime = self.config, self.runtime
        if config is None or runtime is None:
            return
        services = [s.id for s in config.services_of(event.target)]
        outcome = Outcome.of([Result(event.state, event.summary)], immediate=event.immediate)
        try:
            decision = runtime.record_passive(CheckKey(event.target, "traps"), outcome, services,
                                              config.priority_of(event.target))
        except sqlite3.Error as exc:
            log.error("target=%s check=traps could not record a trap: %s", event.target, exc)
            return
        log.warning("target=%s check=traps %s: %s", event.target, event.state.name,
                    event.summary)
        if decision.events:
            runtime.wake("alerts")

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.close()
            self.receiver = None
