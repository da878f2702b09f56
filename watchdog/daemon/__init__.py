"""The daemon: the asyncio loop, the scheduler, signals, reload and shutdown; the check engine
(collect, evaluate, transition, store) and the site jobs it is given (restore tests, reports,
traps, heartbeat, channel tests)."""
