"""The configuration's typed models: site, services, targets (each kind's checks from
:data:`muni_watchdog.checks.KINDS`), backups, notify, reports. Every default lives here; the
reading and validation is :mod:`muni_watchdog.config.loading`."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal, Union
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, create_model, field_validator, model_validator

from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.checks import KINDS
from muni_watchdog.checks.base import CheckParams
from muni_watchdog.checks.lifecycle import REPLACEMENT_YEARS
from muni_watchdog.checks.snmp.traps import TrapSettings
from muni_watchdog.checks.vulns.settings import VulnerabilitySettings
from muni_watchdog.config.web import WebConfig
from muni_watchdog.core.secrets import SecretError, read_secret
from muni_watchdog.core.transitions import Policy
from muni_watchdog.core.types import Duration, Interval, Priority, SecretRef, Strict, Timeout

ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


@dataclass(frozen=True)
class PriorityDefaults:
    """What a service's priority implies when a check does not say otherwise.

    Priority 3 is Icinga 2's defaults (check every 5m, retry every 1m, 3 attempts). Priority 1 is
    tightened so an outage reaches the on-call within about a minute: 30s + 2 x 10s retries.
    Recovery needs 2 good results (Gatus' success-threshold) so one lucky answer does not close an
    incident. ``response_sla`` is the time to acknowledge when a service does not set one.
    """

    check_interval: float
    retry_interval: float
    max_attempts: int
    recovery_attempts: int
    response_sla: float


PRIORITY_DEFAULTS: dict[int, PriorityDefaults] = {
    1: PriorityDefaults(30, 10, 3, 2, 3600),
    2: PriorityDefaults(60, 20, 3, 2, 4 * 3600),
    3: PriorityDefaults(300, 60, 3, 2, 8 * 3600),
    4: PriorityDefaults(900, 300, 3, 2, 48 * 3600),
    5: PriorityDefaults(1800, 600, 3, 2, 5 * 86400),
}

# Monthly availability a service is held to when it does not set one: 99.9 % allows 43 minutes
# of outage in a 30-day month, 99.5 % 3.6 hours, 99 % 7.2 hours, 98 % 14.4 hours, 95 % 36 hours.
AVAILABILITY_TARGETS: dict[int, float] = {1: 99.9, 2: 99.5, 3: 99.0, 4: 98.0, 5: 95.0}

# How often a service of priority 1 or 2 is drilled when it does not say: twice a year (the
# municipal guidance asks for a short drill of one resident-facing service, then a review
# after 90 days; 180 days keeps every critical service exercised twice a year).
DRILL_EVERY_DEFAULT = 180 * 86400.0


WEEKLY_TIME = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d$")


def weekly_time(value: str) -> str:
    """Validate a weekly moment written ``DAY HH:MM`` (site time), e.g. ``mon 10:00``."""
    if not WEEKLY_TIME.match(value):
        raise ValueError(f"{value!r} is not a weekly time; write DAY HH:MM, e.g. 'mon 10:00'")
    return value


class Person(Strict):
    name: str = Field(..., min_length=1, description="Who it is.")
    contact: str = Field(..., min_length=1, description="How to reach them: email or phone.")
    channels: list[str] = Field(default_factory=list, description="Channels that reach this "
                                "person; escalations to them use these (default: the "
                                "fallback channels).")


class EscalationStep(Strict):
    after: Duration = Field(..., description="How long after the backup owner was called, "
                            "if still unacknowledged.")
    channels: list[str] = Field(..., min_length=1, description="Channels to notify then.")


class BusinessHours(Strict):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        ["mon", "tue", "wed", "thu", "fri"], description="Working days.")
    start: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                       description="Start of the working day, HH:MM in the site's time zone.")
    end: str = Field("17:00", pattern=r"^([01]\d|2[0-4]):[0-5]\d$",
                     description="End of the working day, HH:MM.")


class LifecycleSettings(Strict):
    replacement_years: dict[str, int] = Field(
        default_factory=lambda: dict(REPLACEMENT_YEARS),
        description="Replacement age in years per device class, for the inventory and the "
        "assessment: a device older than this is past its service life. Age from the "
        "manufacture date (ENTITY-MIB) when the device tells it, else from when it was first "
        "seen (a lower bound). Classes: " + ", ".join(REPLACEMENT_YEARS) + "; `ups` is the "
        "battery's life (APC: 3-5 years), the rest common refresh conventions (switches and "
        "routers 7, PCs, servers, NAS, printers 5). Give only the classes to change.",
        examples=[{"switch": 8, "ups": 3}])

    @field_validator("replacement_years")
    @classmethod
    def _classes(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(REPLACEMENT_YEARS))
        if unknown:
            raise ValueError(f"unknown device class {', '.join(map(repr, unknown))}; use "
                             + ", ".join(REPLACEMENT_YEARS))
        bad = sorted(k for k, v in value.items() if not 1 <= v <= 40)
        if bad:
            raise ValueError(f"{', '.join(bad)}: a replacement age is 1 to 40 years")
        return {**REPLACEMENT_YEARS, **value}


class SiteConfig(Strict):
    name: str = Field(..., min_length=1, description="The site's name, shown in every message.")
    short_name: str | None = Field(
        None, min_length=1, max_length=30, description="A short name for subjects and SMS, "
        "e.g. 'Ashby' (default: name). An MSP on call for several towns sees which one pages.")
    timezone: str = Field("UTC", description="IANA time zone of the site, e.g. "
                          "America/Chicago; business hours and reports use it.")
    default_priority: Priority = Field(3, description="Priority of targets no service claims.")
    run_history: Duration = Field(14 * 86400, description="How long the check runs that "
                                  "changed a check's state are kept; every run is kept for "
                                  "an hour, and counted per day and month for good (state "
                                  "changes and alerts are kept for good).")
    business_hours: BusinessHours = Field(default_factory=BusinessHours,
                                          description="For routes limited to business hours.")
    lifecycle: LifecycleSettings = Field(
        default_factory=LifecycleSettings, description="Hardware replacement ages, for the "
        "inventory and the assessment (the OS support ends come with the program).")
    snmp_traps: TrapSettings = Field(
        default_factory=TrapSettings, description="The SNMP trap receiver: UPS and printer "
        "traps from known snmp targets become immediate results of their 'traps' check.")
    web: WebConfig | None = Field(
        None, description="The web console, served by the daemon (off unless given): the "
        "now page, incidents and their acknowledge links, services, maintenance, reports, "
        "audit.")
    vulnerabilities: VulnerabilitySettings = Field(
        default_factory=VulnerabilitySettings, description="The vulnerability feeds the "
        "'vulnerabilities' check matches installed packages against (OSV, the Debian security "
        "tracker, CISA's known-exploited catalogue): where from, how often, how old they may "
        "be. Downloaded only when a target has a vulnerabilities check.")

    @property
    def label(self) -> str:
        """How messages name the site: the short name, else the name."""
        return self.short_name or self.name

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone; use an IANA name such as "
                             "America/New_York or Europe/Berlin") from None
        return value


class ServiceConfig(Strict):
    id: str = Field(..., pattern=ID_PATTERN, description="Short unique name, e.g. email.")
    name: str = Field(..., min_length=1, description="What residents and staff call it.")
    priority: Priority = Field(..., description="1 = highest public impact ... 5 = lowest.")
    impact: str = Field("", description="One sentence: what the public loses when it is down.")
    rto: Duration = Field(..., description="Required recovery time: how long it may take to "
                          "bring it back, e.g. 4h.")
    rpo: Duration = Field(..., description="Maximum acceptable data loss, as data age, e.g. 24h.")
    response_sla: Duration | None = Field(
        None, description="Time to acknowledge an alert; default by priority (1h for P1).")
    owner: Person = Field(..., description="Who answers for it.")
    backup_owner: Person = Field(..., description="Who is next when the owner does not "
                                 "answer in time.")
    targets: list[str] = Field(default_factory=list, description="Ids of targets it runs on.")
    backups: list[str] = Field(default_factory=list, description="Ids of its backups.")
    escalation: list[EscalationStep] = Field(
        default_factory=list, description="Further steps after the backup owner, e.g. the MSP "
        "lead 1h later. An acknowledgement stops escalation.")

    availability_target: float | None = Field(
        None, ge=50, le=100, description="Availability promised for a month, in percent; "
        "default by priority: P1 99.9, P2 99.5, P3 99, P4 98, P5 95.")
    public: bool | None = Field(
        None, description="Shown on the residents' status page (its name, its impact, its "
        "status and updates; never its targets, hosts or checks). Default: priority 1 and 2 "
        "services that have impact text.")
    drill_every: Duration | None = Field(
        None, description="How often the service should be drilled (muni-watchdog drill "
        "start); the monthly report shows when the next drill is due. Default 180d for "
        "priority 1 and 2, none for the others.")

    @property
    def effective_response_sla(self) -> float:
        return self.response_sla or PRIORITY_DEFAULTS[self.priority].response_sla

    @property
    def is_public(self) -> bool:
        """On the status page: as configured, else priority 1-2 with impact text."""
        if self.public is not None:
            return self.public
        return self.priority <= 2 and bool(self.impact.strip())

    @property
    def effective_drill_every(self) -> float | None:
        if self.drill_every is not None:
            return self.drill_every
        return DRILL_EVERY_DEFAULT if self.priority <= 2 else None

    @property
    def effective_availability_target(self) -> float:
        return self.availability_target or AVAILABILITY_TARGETS[self.priority]


class TargetBase(Strict):
    id: str = Field(..., pattern=ID_PATTERN, description="Short unique name, e.g. web-portal.")
    kind: str = Field(..., description="What it is: " + ", ".join(KINDS) + ".")
    host: str = Field(..., min_length=1, description="Host name or address.")
    description: str = ""
    parents: list[str] = Field(default_factory=list, description="Ids of the targets it sits "
                               "behind (router, switch, UPS); their outage explains its own.")


SECRET_QUERY_KEYS = {"pass", "password", "token", "apikey", "api_key", "key", "secret",
                     "signature", "sig", "auth"}
SMS_SCHEMES = {"twilio", "clicksend", "sns", "msg91", "d7sms", "bulksms", "kavenegar", "sinch",
               "vonage", "nexmo", "plivo", "smseagle", "textbelt", "messagebird", "bulkvs"}
INLINE_SCHEMES = {"mailto", "mailtos", "json", "jsons", "xml", "xmls", "form", "forms"}


class ChannelConfig(Strict):
    name: str = Field(..., pattern=ID_PATTERN, description="e.g. oncall-email, msp-teams.")
    url: str | None = Field(None, description="Apprise URL without secrets (e.g. an SMTP relay "
                            "that needs no login). URLs with passwords or tokens go in a file.")
    url_file: str | None = Field(None, description="File holding the Apprise URL.")
    url_env: str | None = Field(None, description="Environment variable holding it.")
    url_credential: str | None = Field(None, description="systemd credential holding it.")
    config_file: str | None = Field(None, description="An Apprise configuration file (YAML or "
                                    "text) whose URLs all belong to this channel.")
    format: Literal["auto", "email", "sms", "teams", "text"] = Field(
        "auto", description="Message layout: email (HTML and text, the full incident), sms "
        "(160 characters), teams (under 1,000 characters), text. auto: from the URL scheme.")
    fallback: str | None = Field(None, description="Channel to use when this one has failed "
                                 "3 times for a message (default: notify.fallback_channels).")
    description: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> ChannelConfig:
        given = [k for k in ("url", "url_file", "url_env", "url_credential", "config_file")
                 if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of url, url_file, url_env, url_credential or "
                             f"config_file (got {', '.join(given) or 'none'})")
        if self.url:
            _refuse_inline_secret(self.url)
        return self

    @property
    def secret_ref(self) -> SecretRef | None:
        if self.url_file:
            return SecretRef(file=self.url_file)
        if self.url_env:
            return SecretRef(env=self.url_env)
        if self.url_credential:
            return SecretRef(credential=self.url_credential)
        return None


def _refuse_inline_secret(url: str) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise ValueError(f"{url!r} is not an Apprise URL (e.g. mailto://relay.town.example"
                         "?to=oncall@msp.example)")
    if scheme not in INLINE_SCHEMES:
        raise ValueError(f"{scheme}:// URLs carry tokens; put the URL in a file and use url_file "
                         "(or url_env / url_credential)")
    if parts.password or any(k.lower() in SECRET_QUERY_KEYS for k, _ in parse_qsl(parts.query)):
        raise ValueError("this URL contains a password or token; put it in a file and use "
                         "url_file (or url_env / url_credential)")


class RouteConfig(Strict):
    name: str = Field(..., pattern=ID_PATTERN, description="Name of the route.")
    kind: Literal["alert", "update"] = Field(
        "alert", description="alert: the technical alerts (problems, reminders, "
        "escalations); update: the plain-language incident updates (muni-watchdog incident "
        "update), e.g. to the communications officer and leadership. An update route never "
        "carries alerts, nor an alert route updates.")
    priorities: list[Priority] = Field([1, 2, 3, 4, 5], description="Service priorities.")
    states: list[Literal["warning", "critical", "unknown"]] = Field(
        ["warning", "critical", "unknown"], description="Problem states it carries; recoveries "
        "always go to whoever was told of the problem.")
    hours: Literal["any", "business", "after_hours"] = Field(
        "any", description="When it applies, in the site's time zone.")
    channels: list[str] = Field(..., min_length=1, description="Channel names to notify.")


class UpdateCadence(Strict):
    """How often an incident of a public service gets a public update, by priority.

    P1 every 30 minutes, P2 every 2 hours: the municipal guidance asks for one tested cadence;
    30 minutes is the common rule for a major outage (status-page practice puts it at 10-30
    minutes, PagerDuty's incident response at 20-30). P3-P5 have none unless set."""

    p1: Duration | None = Field(1800, description="Priority 1 (null: no cadence).")
    p2: Duration | None = Field(7200, description="Priority 2.")
    p3: Duration | None = Field(None, description="Priority 3.")
    p4: Duration | None = Field(None, description="Priority 4.")
    p5: Duration | None = Field(None, description="Priority 5.")

    def every(self, priority: int) -> float | None:
        return getattr(self, f"p{priority}", None)


class RetryConfig(Strict):
    first_delay: Interval = Field(10, description="Wait before the first retry of a failed send.")
    max_delay: Interval = Field(300, description="Longest wait between retries (doubling).")
    give_up_after: Duration = Field(86400, description="Stop retrying a message this old.")
    fallback_after: int = Field(3, ge=1, le=100, description="Failed attempts on a channel "
                                "before a message also goes to its fallback channel.")


class HeartbeatConfig(Strict):
    url: str | None = Field(None, description="Ping URL without a secret token.")
    url_file: str | None = Field(None, description="File holding the ping URL (healthchecks.io "
                                 "style: an HTTP GET every interval proves the box is alive).")
    url_env: str | None = None
    url_credential: str | None = None
    interval: Interval = Field(300, description="How often to ping.")

    @model_validator(mode="after")
    def _one(self) -> HeartbeatConfig:
        given = [k for k in ("url", "url_file", "url_env", "url_credential") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of url, url_file, url_env or url_credential")
        return self

    @property
    def secret_ref(self) -> SecretRef | None:
        for key, field in (("url_file", "file"), ("url_env", "env"),
                           ("url_credential", "credential")):
            if getattr(self, key):
                return SecretRef(**{field: getattr(self, key)})
        return None


class NotifyConfig(Strict):
    channels: list[ChannelConfig] = Field(default_factory=list,
                                          description="Named notification channels.")
    routes: list[RouteConfig] = Field(default_factory=list,
                                      description="Which channels get which alerts.")
    fallback_channels: list[str] = Field(
        default_factory=list, description="Used when no route matches an alert.")
    retry: RetryConfig = Field(default_factory=RetryConfig,
                               description="How the outbox retries failed sends.")
    group_wait: Timeout = Field(30, description="How long related problems (same target) are "
                                 "gathered into one message while some are still being "
                                 "confirmed (Alertmanager's group_wait).")
    heartbeat: HeartbeatConfig | None = Field(None, description="Outbound heartbeat so the MSP "
                                              "learns when this box itself is dead.")
    weekly_test: str | None = Field(
        "mon 10:00", description="When every channel gets a test message (site time), "
        "proving the routes still work; null to turn off.")
    update_cadence: UpdateCadence = Field(
        default_factory=UpdateCadence, description="How often an open incident of a public "
        "service (and a drill) gets an update; when one is due and none was posted, the "
        "on-call is reminded and a missed update is counted.")

    @field_validator("weekly_test")
    @classmethod
    def _weekly(cls, value: str | None) -> str | None:
        return None if value is None else weekly_time(value)


class MonthlyReportConfig(Strict):
    channel: str = Field(..., description="Channel that receives it, e.g. leadership.")
    day: int = Field(1, ge=1, le=28, description="Day of the month it is sent.")
    time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
                      description="Time of day (site time) it is sent.")


class DigestConfig(Strict):
    channel: str = Field(..., description="Channel that receives the on-call weekly digest, "
                         "e.g. oncall-email.")
    when: str = Field("mon 08:00", description="When it is sent each week, DAY HH:MM in the "
                      "site's time zone.")

    @field_validator("when")
    @classmethod
    def _weekly(cls, value: str) -> str:
        return weekly_time(value)


class MetricsConfig(Strict):
    listen: str = Field("127.0.0.1:9877", description="ADDRESS:PORT of the OpenMetrics "
                        "/metrics endpoint. Loopback by default; a LAN address lets the MSP's "
                        "Prometheus scrape it (protect it with a firewall).")

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not ADDRESS:PORT; write e.g. '127.0.0.1:9877' "
                             "(or '[::1]:9877')")
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class StatusPageConfig(Strict):
    export_dir: str | None = Field(None, min_length=1, description="Folder the daemon "
                                   "writes the residents' status page to (index.html and "
                                   "status.json, each replaced atomically), for the town's own "
                                   "web host to publish. Without it the page is only served "
                                   "live by the web console at /status (site.web).")
    every: Interval = Field(60, description="How often the exported page is written again.")
    title: str | None = Field(None, description="Heading of the page (default: 'SITE "
                              "service status').")
    contact: str = Field("", description="One line for residents, e.g. 'Questions? Call "
                         "Town Hall at 555-0100.'")
    announce_days: int = Field(14, ge=0, le=90, description="Announced maintenance is "
                               "listed this many days ahead.")


LeadingMetric = Literal["restore_pass_rate", "security_patch_latency"]
TrailingMetric = Literal["outage_minutes", "missed_response_promises"]


class ReportsConfig(Strict):
    monthly: MonthlyReportConfig | None = Field(
        None, description="The monthly leadership summary.")
    digest: DigestConfig | None = Field(None, description="The on-call weekly digest for the "
                                        "MSP.")
    leading: list[LeadingMetric] = Field(
        ["restore_pass_rate", "security_patch_latency"], min_length=1,
        description="Leading metrics (they warn before residents notice), with a 6-month trend: "
        "restore_pass_rate (restore tests passed, %), security_patch_latency (days the oldest "
        "security update has waited).")
    trailing: list[TrailingMetric] = Field(
        ["outage_minutes"], min_length=1,
        description="Trailing metrics (what residents felt), with a 6-month trend: "
        "outage_minutes (of priority 1 and 2 services), missed_response_promises.")
    exclude_maintenance: bool = Field(
        True, description="Do not count downtime inside maintenance windows against "
        "availability (it is still listed as maintenance performed).")
    metrics: MetricsConfig | None = Field(
        None, description="The OpenMetrics endpoint for the MSP's central monitoring; off "
        "unless given (an empty mapping {} listens on 127.0.0.1:9877).")
    status_page: StatusPageConfig | None = Field(
        None, description="The residents' status page, exported as static files on a "
        "schedule (muni-watchdog status-page export DIR writes it once).")


def _target_models() -> Any:
    models = []
    for name, kind in KINDS.items():
        params = [ct.Params for ct in kind.check_types.values()]
        check_type: Any = (params[0] if len(params) == 1 else
                           Annotated[Union[tuple(params)], Field(discriminator="check")])  # noqa: UP007
        fields: dict[str, Any] = {
            "kind": (Literal[name], ...),
            "checks": (list[check_type], Field(default_factory=kind.default_checks,
                                                validate_default=True)),
        }
        if kind.connection is not None:
            fields[name] = (kind.connection, ...)
        models.append(create_model(f"{name.capitalize()}Target", __base__=TargetBase, **fields))
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="kind")]  # noqa: UP007


TargetConfig = _target_models()


@lru_cache(maxsize=256)
def _policy(check_interval: float, retry_interval: float, max_attempts: int,
            recovery_attempts: int) -> Policy:
    """Policies are frozen and few: one object per distinct policy, not one per check."""
    return Policy(check_interval=check_interval, retry_interval=retry_interval,
                  max_attempts=max_attempts, recovery_attempts=recovery_attempts)


class Config(Strict):
    site: SiteConfig = Field(..., description="The site: name, time zone, business hours.")
    services: list[ServiceConfig] = Field(
        default_factory=list, description="What the town provides, ranked by public impact.")
    targets: list[TargetConfig] = Field(  # type: ignore[valid-type]
        default_factory=list, description="The devices and endpoints that are checked.")
    backups: list[BackupParams] = Field(
        default_factory=list, description="restic repositories whose restores are tested.")
    notify: NotifyConfig = Field(default_factory=NotifyConfig,
                                 description="Channels (Apprise URLs) and routes.")
    reports: ReportsConfig = Field(default_factory=ReportsConfig,
                                   description="Scheduled reports.")

    @model_validator(mode="after")
    def _share_equal_checks(self) -> Config:
        # The checks of 500 switches are the same few (the kind's defaults): one frozen copy
        # of each instead of one per target (2,000 check models were 2.3 MB of the daemon).
        seen: dict[tuple[Any, ...], CheckParams] = {}
        for target in self.targets:
            shared = []
            for params in target.checks:
                key = (type(params), frozenset(params.model_fields_set), repr(params.__dict__))
                kept = seen.setdefault(key, params)
                shared.append(kept if kept == params else params)
            target.__dict__["checks"] = shared
        return self

    @cached_property
    def target_by_id(self) -> dict[str, Any]:
        return {t.id: t for t in self.targets}

    @cached_property
    def service_by_id(self) -> dict[str, ServiceConfig]:
        return {s.id: s for s in self.services}

    def services_of(self, target_id: str) -> list[ServiceConfig]:
        """The services that depend on a target, most important first."""
        return sorted((s for s in self.services if target_id in s.targets),
                      key=lambda s: (s.priority, s.id))

    def priority_of(self, target_id: str) -> int:
        services = self.services_of(target_id)
        return services[0].priority if services else self.site.default_priority

    def policy_for(self, target_id: str, params: CheckParams) -> Policy:
        defaults = PRIORITY_DEFAULTS[self.priority_of(target_id)]
        return _policy(params.interval or defaults.check_interval,
                       params.retry_interval or defaults.retry_interval,
                       params.max_attempts or defaults.max_attempts,
                       params.recovery_attempts or defaults.recovery_attempts)

    def channel_format(self, name: str) -> str:
        """The message layout of a channel, inferring 'auto' from its URL scheme."""
        channel = next(c for c in self.notify.channels if c.name == name)
        if channel.format != "auto":
            return channel.format
        url = channel.url or ""
        scheme = url.split("://", 1)[0].lower() if url else ""
        if not scheme and channel.secret_ref is not None:
            try:
                scheme = read_secret(channel.secret_ref).split("://", 1)[0].lower()
            except SecretError:
                scheme = ""
        if scheme in ("mailto", "mailtos"):
            return "email"
        if scheme in ("workflows", "msteams"):
            return "teams"
        if scheme in SMS_SCHEMES:
            return "sms"
        return "text"

    def channel_urls(self) -> dict[str, list[str]]:
        """Resolve every channel to its Apprise URLs (or config-file marker); reads secrets."""
        resolved: dict[str, list[str]] = {}
        for channel in self.notify.channels:
            if channel.url:
                resolved[channel.name] = [channel.url]
            elif channel.config_file:
                resolved[channel.name] = [f"config:{channel.config_file}"]
            else:
                text = read_secret(channel.secret_ref)  # type: ignore[arg-type]
                resolved[channel.name] = [line.strip() for line in text.splitlines()
                                          if line.strip() and not line.startswith("#")]
        return resolved
