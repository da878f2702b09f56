"""The site's vulnerability feeds (``site.vulnerabilities``): which feeds, from where (any URL
can point at a local mirror), how often they are refreshed, how old they may be — and which of
them the town's servers need.

Defaults follow debsecan, which fetches its data once a day (``debsecan-create-cron``: an
hourly cron entry, processing restricted to once a day): the daemon refreshes each needed feed
daily with a conditional GET (an unchanged feed costs one request). A copy whose server has not
confirmed it for 48 hours makes the ``vulnerabilities`` check UNKNOWN, as package lists older
than 48 hours do for the ``patches`` check; CISA's catalogue, updated a few times a week, may be
7 days old.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from muni_watchdog.checks.vulns.sources import DEFAULT_SOURCES, FeedSource
from muni_watchdog.core.durations import DAY, HOUR
from muni_watchdog.core.types import Duration, Interval, Strict, Timeout

KNOWN = {source.name: source for source in DEFAULT_SOURCES}
SYSTEMS = ("debian", "ubuntu", "almalinux", "rocky", "rhel")


class FeedSetting(Strict):
    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="A known feed ("
                      + ", ".join(KNOWN) + ") or a name of your own (then give kind and "
                      "systems).")
    url: str | None = Field(None, description="Where to download it from; default the public "
                            "source. Point it at a local mirror to fetch inside the town's "
                            "network.", examples=["https://mirror.msp.example/osv/Debian/"
                                                  "all.zip"])
    kind: Literal["osv", "debian-tracker", "kev"] | None = Field(
        None, description="Its format: osv (osv.dev's zip of OSV records), debian-tracker (the "
        "Debian security tracker's JSON) or kev (CISA's catalogue); default the known feed's.")
    systems: list[Literal["debian", "ubuntu", "almalinux", "rocky", "rhel"]] | None = Field(
        None, description="The systems (os-release IDs) whose packages it covers; it is "
        "downloaded once a server of one of them is seen. Default the known feed's.")
    max_mib: int | None = Field(None, ge=1, le=4096, description="Largest download accepted, "
                                "in MiB; default 1024 (the tracker 512, KEV 64).")
    timeout: Timeout | None = Field(None, description="Longest the whole download may take; "
                                    "default 15m (KEV 5m).")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"{value!r} must start with https:// (or http:// for a mirror "
                             "inside the town's network)")
        return value

    @model_validator(mode="after")
    def _known_or_described(self) -> FeedSetting:
        if self.name not in KNOWN:
            if self.kind is None or self.url is None:
                raise ValueError(f"{self.name!r} is not a known feed ({', '.join(KNOWN)}): "
                                 "give its url and kind")
            if self.kind != "kev" and not self.systems:
                raise ValueError(f"feed {self.name!r}: give the systems it covers (e.g. "
                                 "[debian])")
        return self

    def source(self) -> FeedSource:
        """The download this setting describes, the known feed's values as defaults."""
        known = KNOWN.get(self.name)
        kind = self.kind or (known.kind if known else "osv")
        base = known or FeedSource(self.name, "", kind)
        return FeedSource(
            self.name, self.url or base.url, kind,
            self.max_mib * 1024 ** 2 if self.max_mib else base.max_bytes,
            self.timeout or base.timeout,
            tuple(self.systems) if self.systems is not None else base.systems)


def _default_feeds() -> list[FeedSetting]:
    return [FeedSetting(name=name) for name in KNOWN]


class VulnerabilitySettings(Strict):
    """``site.vulnerabilities``: the feeds the ``vulnerabilities`` check matches against."""

    feeds: list[FeedSetting] = Field(
        default_factory=_default_feeds, description="The feeds to use. Each is downloaded "
        "only once a server it covers has been seen (KEV always). Default: every known feed "
        "from its public source. Listing feeds replaces the list (list kev too).",
        examples=[[{"name": "debian-tracker"}, {"name": "osv-debian",
                                                "url": "https://mirror.msp.example/osv/"
                                                "Debian/all.zip"}, {"name": "kev"}]])
    refresh: Interval = Field(DAY, description="How often each feed is downloaded again "
                              "(conditional GET: an unchanged feed costs one request). A "
                              "failed download is retried hourly.")
    max_age: Duration = Field(
        48 * HOUR, description="A feed copy its server has not confirmed for this long makes "
        "the vulnerabilities check UNKNOWN (findings may be missing): the patches check's 48h "
        "for package lists.")
    kev_max_age: Duration = Field(
        7 * DAY, description="The same for CISA's known-exploited catalogue (updated a few "
        "times a week).")

    @field_validator("feeds")
    @classmethod
    def _unique(cls, value: list[FeedSetting]) -> list[FeedSetting]:
        names = [f.name for f in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"feed(s) listed twice: {', '.join(twice)}")
        if sum(1 for f in value if f.source().kind == "kev") > 1:
            raise ValueError("list one kev catalogue")
        return value

    def sources(self) -> tuple[FeedSource, ...]:
        return tuple(f.source() for f in self.feeds)

    @property
    def kev_name(self) -> str:
        """The catalogue's feed name (``kev`` when none is listed: reported as missing)."""
        return next((s.name for s in self.sources() if s.kind == "kev"), "kev")

    @property
    def advisory_feeds(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources() if s.kind != "kev")


def needed_sources(sources: Sequence[FeedSource], systems: Iterable[str]) -> list[FeedSource]:
    """The feeds to download for servers of ``systems`` (os-release IDs): KEV always, the
    others when they cover one of them."""
    seen = set(systems)
    return [s for s in sources if s.kind == "kev" or seen.intersection(s.systems)]


RETRY_AFTER = HOUR


def feed_due(source: FeedSource, meta: dict, has_copy: bool, now: datetime,
             refresh: float) -> bool:
    """Whether ``source`` should be downloaded now: no copy, a copy from another URL (a
    mirror was configured), or one not confirmed for ``refresh`` — but never again within
    an hour of a failed attempt (a server that is down is not hammered)."""
    attempt = _moment(meta.get("last_attempt"))
    failed = bool(meta.get("last_error"))
    if attempt is not None and failed and \
            (now - attempt).total_seconds() < min(RETRY_AFTER, refresh):
        return False
    if not has_copy or meta.get("url") != source.url:
        return True
    verified = _moment(meta.get("verified_at"))
    return verified is None or (now - verified).total_seconds() >= refresh


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
