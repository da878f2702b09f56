"""The web console, served by the daemon on its own event loop (aiohttp, Jinja2 templates with
autoescaping): the now page, incidents and their acknowledge links, services, maintenance and
accepted risks, reports, the audit log, and ``/metrics`` on the same port.

Adding pages (e.g. another module's status page): write a module with
``register(site: Registry)`` that calls ``site.page(...)`` / ``site.api(...)`` /
``site.action(...)`` and, for its own templates, ``site.templates(folder)``; its templates
extend ``base.html``. Add the module to :data:`muni_watchdog.web.pages.PAGE_MODULES` (or pass
it to :func:`muni_watchdog.web.console.build_app` as an extension). See
:mod:`muni_watchdog.web.registry`.
"""
