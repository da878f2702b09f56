"""Counter and growth math, pure: deltas with wraps and reboots, rates, days-until-full."""

from __future__ import annotations

from collections.abc import Sequence

TIMETICKS_WRAP = 1 << 32  # sysUpTime wraps after 2^32 hundredths of a second: ~497.1 days


def counter_delta(previous: int, current: int, bits: int, rebooted: bool = False) -> int | None:
    """The increase of a counter between two polls, or None when it cannot be known.

    A counter that went down wrapped once (add 2^bits) unless the device rebooted in between
    (then the counter restarted from zero and the delta is unknown). A 64-bit counter never
    wraps in practice: going down means a reset, so no delta."""
    if rebooted:
        return None
    if current >= previous:
        return current - previous
    if bits == 64:
        return None
    return current + (1 << bits) - previous


def rate(previous: int, current: int, seconds: float, bits: int,
         rebooted: bool = False) -> float | None:
    """Per-second rate from two counter readings ``seconds`` apart."""
    if seconds <= 0:
        return None
    delta = counter_delta(previous, current, bits, rebooted)
    return None if delta is None else delta / seconds


def uptime_advanced(previous_ticks: int, current_ticks: int, seconds: float) -> bool:
    """Whether sysUpTime went down only because the 32-bit TimeTicks wrapped (~497 days),
    not because the device restarted: the wrapped value must match the wall-clock elapsed
    time (within a generous margin, agents' clocks drift)."""
    if current_ticks >= previous_ticks:
        return True
    expected = (previous_ticks + seconds * 100) % TIMETICKS_WRAP
    margin = max(6000, seconds * 100 * 0.2)  # 60 s or 20 %
    return abs(current_ticks - expected) <= margin and previous_ticks > TIMETICKS_WRAP * 0.9


def days_until_full(samples: Sequence[tuple[float, float]], size: float) -> float | None:
    """Linear forecast: days until ``used`` reaches ``size``, from (unix time, used) samples
    (least squares). None when there are fewer than 2 samples spanning an hour, or usage is
    not growing."""
    if len(samples) < 2 or samples[-1][0] - samples[0][0] < 3600:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_u = sum(u for _, u in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return None
    slope = sum((t - mean_t) * (u - mean_u) for t, u in samples) / var  # bytes per second
    if slope <= 0:
        return None
    remaining = size - samples[-1][1]
    return max(0.0, remaining / slope / 86400)


def thin_samples(samples: list[tuple[float, float]], now: float, keep_seconds: float,
                 min_gap: float) -> list[tuple[float, float]]:
    """Samples younger than ``keep_seconds``, at most one per ``min_gap`` (bounded memory)."""
    kept: list[tuple[float, float]] = []
    for t, u in samples:
        if now - t > keep_seconds:
            continue
        if kept and t - kept[-1][0] < min_gap:
            continue
        kept.append((t, u))
    return kept
