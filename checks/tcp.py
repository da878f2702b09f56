"""``tcp``: can a connection be opened within the timeout (a service port is listening)?"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, CollectError, Evaluation, TargetInfo
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Timeout


class TcpParams(CheckParams):
    check: Literal["tcp"] = "tcp"
    port: int = Field(..., ge=1, le=65535, description="TCP port to connect to.")
    connect_warn: Timeout | None = Field(
        None, description="Warn when connecting takes longer than this.")
    timeout: Timeout = Field(5.0, description="Connect timeout; no connection in time is "
                              "CRITICAL (check_tcp's default is 10s; a LAN answers in ms).")


@dataclass(frozen=True)
class TcpRaw:
    connected: bool
    seconds: float
    error: str = ""


class TcpCheck:
    type = "tcp"
    Params = TcpParams

    async def collect(self, target: TargetInfo, params: TcpParams) -> TcpRaw:
        started = time.monotonic()
        try:
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, params.port), params.timeout)
        except TimeoutError:
            return TcpRaw(False, time.monotonic() - started,
                          f"no answer within {params.timeout:g}s")
        except OSError as exc:
            if isinstance(exc, ConnectionRefusedError):
                return TcpRaw(False, time.monotonic() - started, "connection refused")
            if "Name or service not known" in str(exc) or "nodename nor servname" in str(exc):
                raise CollectError(f"cannot resolve host name {target.host!r}") from None
            return TcpRaw(False, time.monotonic() - started, exc.strerror or str(exc))
        elapsed = time.monotonic() - started
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except (TimeoutError, OSError):
            pass
        return TcpRaw(True, elapsed)

    def evaluate(self, raw: TcpRaw, params: TcpParams, ctx: CheckContext) -> Evaluation:
        where = f"port {params.port}"
        if not raw.connected:
            return Evaluation(Outcome.of([Result(State.CRITICAL, f"{where}: {raw.error}")]))
        state = State.OK
        if params.connect_warn is not None and raw.seconds > params.connect_warn:
            state = State.WARNING
        metric = Metric("connect_time", round(raw.seconds, 4), "s", warn=params.connect_warn,
                        crit=params.timeout, min=0)
        return Evaluation(Outcome.of(
            [Result(state, f"{where} open in {raw.seconds * 1000:.0f} ms")], [metric]))
