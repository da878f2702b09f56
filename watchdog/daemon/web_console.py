"""``site.web``: the console, served on the daemon's own event loop (aiohttp), kept running
across reloads while its address and TLS files stay the same (a reload then only gives it
the new configuration: users, names, services)."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from muni_watchdog.alerting.ack_links import SigningKeyError, load_key
from muni_watchdog.config.models import Config
from muni_watchdog.daemon.runtime import Runtime, SiteJob

log = logging.getLogger("muni-watchdog")


class WebConsole(SiteJob):
    def __init__(self) -> None:
        self._runner: Any = None
        self._console: Any = None
        self._listening: tuple | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        web = config.site.web
        wanted = None if web is None else (web.listen, web.tls_cert_file, web.tls_key_file,
                                           web.secret_credential)
        if wanted == self._listening and self._console is not None:
            self._console.update(config)
            return
        await self.close()
        if web is None:
            return
        from aiohttp import web as aioweb

        from muni_watchdog.web.app import build_app
        from muni_watchdog.web.console import Console
        from muni_watchdog.web.registry import Registry
        try:
            key = load_key(runtime.state_dir, web.secret_credential)
            context = None
            if web.tls:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(web.tls_cert_file, web.tls_key_file)
        except (SigningKeyError, OSError, ssl.SSLError) as exc:
            log.error("web: the console is not started: %s", exc)
            return
        console = Console(config, runtime.store, runtime.state_dir, key, runtime.clock,
                          Registry())
        runner = aioweb.AppRunner(build_app(console), access_log=None,
                                  handle_signals=False)
        await runner.setup()
        host, port = web.address
        try:
            await aioweb.TCPSite(runner, host, port, ssl_context=context,
                                 shutdown_timeout=1.0).start()
        except OSError as exc:
            await runner.cleanup()
            log.error("web: cannot listen on %s: %s", web.listen, exc)
            return
        self._runner, self._console, self._listening = runner, console, wanted
        log.info("web: console on %s://%s (public address %s)%s",
                 "https" if web.tls else "http", web.listen, web.base_url,
                 ", also serving /metrics" if config.reports.metrics else "")

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._console, self._listening = None, None, None
