"""Hand a message to Apprise. The only module here that does I/O."""

from __future__ import annotations

import logging
from collections.abc import Sequence

CONFIG_PREFIX = "config:"


class DeliveryError(RuntimeError):
    pass


FORMATS = ("text", "html", "markdown")   # Apprise's NotifyFormat values


def send(urls: Sequence[str], title: str, body: str, body_format: str = "text") -> None:
    """Send through every URL; raise :class:`DeliveryError` with Apprise's reason on failure.

    Blocking (Apprise's plugins use their own socket timeouts); call it from a worker thread.
    Apprise is imported here, on the first message: it costs ~17 MB of RSS that a daemon
    with nothing to say does not need.
    """
    import apprise

    if body_format not in FORMATS:
        raise DeliveryError(f"unknown body format {body_format!r}")
    notifier = apprise.Apprise()
    for url in urls:
        if url.startswith(CONFIG_PREFIX):
            config = apprise.AppriseConfig()
            if not config.add(url[len(CONFIG_PREFIX):]):
                raise DeliveryError(f"cannot load Apprise config {url[len(CONFIG_PREFIX):]}")
            notifier.add(config)
        elif not notifier.add(url):
            scheme = url.split("://", 1)[0]
            raise DeliveryError(f"Apprise does not accept this {scheme}:// URL; check it "
                                "against Apprise's documentation")
    if len(notifier) == 0 and not any(u.startswith(CONFIG_PREFIX) for u in urls):
        raise DeliveryError("no notification URLs configured for this channel")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        result = notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat(body_format))
    if result is None:
        raise DeliveryError("no Apprise service matched (empty channel or config file)")
    if not result:
        reason = " ".join(captured.getvalue().split())[-300:] if captured else ""
        raise DeliveryError(reason or "Apprise reported a failed delivery")
