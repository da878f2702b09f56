"""Judging what the probes saw (pure): findings, each with its severity and its fix, and the
check's outcome. A probe that could not tell is UNKNOWN with its reason, never "no door"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from muni_watchdog.checks.exposure.catalogue import CATALOGUE, FindingKind
from muni_watchdog.checks.exposure.certificates import verify_problem
from muni_watchdog.checks.exposure.observations import (
    ExposureRaw,
    ServiceObservation,
    SnmpObservation,
    SshObservation,
    TlsObservation,
)
from muni_watchdog.checks.exposure.params import ExposureParams
from muni_watchdog.checks.exposure.ssh_algorithms import protocol_version, weak_algorithms
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

SSH_CATEGORIES = {"kex": "ssh_weak_kex", "cipher": "ssh_weak_cipher", "mac": "ssh_weak_mac",
                  "host_key": "ssh_weak_host_key"}


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    where: str               # udp/161, tcp/23, pay.town.example:443
    evidence: str            # what was seen, one line
    state: State             # the kind's severity, or lower when the door is unconfirmed
    reasons: str = ""        # why the listed algorithms are weak, for the details
    accepted: bool = False

    @property
    def summary(self) -> str:
        text = f"{self.kind.title} ({self.where}): {self.evidence}"
        return f"accepted: {text}" if self.accepted else text

    @property
    def details(self) -> str:
        why = f" {self.reasons}." if self.reasons else ""
        return f"Fix: {self.kind.fix}{why} Severity: {self.kind.source}."

    def as_item(self) -> dict:
        return {"kind": "exposure", "finding": self.kind.id, "where": self.where,
                "severity": self.state.label, "title": self.kind.title,
                "evidence": self.evidence, "fix": self.kind.fix, "source": self.kind.source,
                "accepted": self.accepted}


def _finding(kind_id: str, where: str, evidence: str, state: State | None = None,
             reasons: str = "") -> Finding:
    kind = CATALOGUE[kind_id]
    return Finding(kind, where, evidence, state or kind.state, reasons)


def _snmp(obs: SnmpObservation, raw: ExposureRaw) -> Iterator[Finding]:
    where = f"udp/{obs.port}"
    descr = f", sysDescr {obs.sys_descr!r}" if obs.sys_descr else ""
    if obs.any_community:
        yield _finding("snmp_any_community", where, f"a random community was answered{descr}")
    elif obs.answered:
        names = sorted({community for community, _ in obs.answered})
        versions = sorted({f"v{version}" for _, version in obs.answered})
        yield _finding("snmp_default_community", where,
                       f"{', '.join(map(repr, names))} answered ({'/'.join(versions)}){descr}")
    configured = raw.facts.snmp_version in ("1", "2c")
    if obs.v3_engine_id is not None and (obs.answered or obs.any_community or configured):
        how = (f"the monitor polls it with v{raw.facts.snmp_version}" if configured else
               "a default community was answered")
        yield _finding("snmp_v1v2c_with_v3", where,
                       f"engine {obs.v3_engine_id} answers v3 discovery; {how}")


def _service(obs: ServiceObservation) -> Iterator[Finding]:
    where = f"tcp/{obs.port}"
    if obs.state != "open":
        return
    if obs.service == "http":
        if obs.page is not None and not obs.page.redirects_to_tls:
            yield _finding("http_cleartext_admin", where, obs.page.describe())
        return
    kind_id = {"telnet": "telnet", "ftp": "ftp", "rdp": "rdp_unexpected"}[obs.service]
    if obs.confirmed:
        yield _finding(kind_id, where, repr(obs.banner) if obs.banner else "answers")
    else:
        # Open but silent: most likely the service (the port is its own), not certain.
        yield _finding(kind_id, where, "port open, the protocol did not identify itself",
                       State.WARNING)


def _ssh(obs: SshObservation, user: str) -> Iterator[Finding]:
    where = f"tcp/{obs.port}"
    if obs.state != "open":
        return
    version = protocol_version(obs.identification)
    if version.startswith("1."):
        yield _finding("ssh_protocol_1", where, obs.identification)
    if obs.kexinit is not None:
        for category, weak in weak_algorithms(obs.kexinit).items():
            reasons = "; ".join(f"{name}: {why}" for name, why in weak.items())
            yield _finding(SSH_CATEGORIES[category], where, ", ".join(weak),
                           reasons=f"Why: {reasons}")
    if obs.auth_methods == ("none",):
        yield _finding("ssh_no_authentication", where,
                       f"the 'none' request for {user!r} was accepted")
    elif obs.auth_methods is not None and "password" in obs.auth_methods:
        yield _finding("ssh_password_auth", where,
                       f"the 'none' request for {user!r} lists: {', '.join(obs.auth_methods)}")


def _tls(obs: TlsObservation, now: datetime) -> Iterator[Finding]:
    where = obs.endpoint
    if obs.state != "open":
        return
    if obs.legacy_accepted:
        yield _finding("tls_legacy_protocol", where,
                       f"accepts {', '.join(obs.legacy_accepted)}"
                       + (f" (a current client gets {obs.protocol})" if obs.protocol else ""))
    cert = obs.certificate
    expired = cert is not None and cert.not_after < now
    if expired:
        days = (now - cert.not_after).days
        yield _finding("tls_expired", where, f"{cert.subject} expired "
                       f"{cert.not_after:%Y-%m-%d} ({days} days ago)")
    if obs.verify_error:
        problem = verify_problem(obs.verify_code, obs.verify_error)
        if not (problem == "tls_expired" and expired):
            subject = f" — {cert.describe()}" if cert is not None else ""
            yield _finding(problem, where, f"{obs.verify_error}{subject}")
    if cert is not None and cert.weak_key:
        yield _finding("tls_weak_key", where, f"{cert.weak_key} — {cert.subject}")
    if cert is not None and cert.weak_signature:
        yield _finding("tls_weak_signature", where,
                       f"signed with {cert.weak_signature} — {cert.subject}")


def _probe_errors(raw: ExposureRaw) -> Iterator[str]:
    if raw.snmp is not None and raw.snmp.error:
        yield f"SNMP udp/{raw.snmp.port}: {raw.snmp.error}"
    for svc in raw.services:
        if svc.state == "error" or svc.error:
            yield f"{svc.service} tcp/{svc.port}: {svc.error}"
    for ssh in raw.ssh:
        if ssh.state == "error" or ssh.error:
            yield f"SSH tcp/{ssh.port}: {ssh.error}"
        elif ssh.state == "open" and ssh.auth_methods is None:
            yield f"SSH tcp/{ssh.port}: login methods unknown: {ssh.auth_error or 'no answer'}"
    for tls in raw.tls:
        if tls.state == "error" or tls.error:
            yield f"TLS {tls.endpoint}: {tls.error}"
        elif tls.state == "open" and tls.certificate is None:
            yield f"TLS {tls.endpoint}: no certificate could be read"
        for problem in tls.legacy_errors:
            yield f"TLS {tls.endpoint}: {problem}"
    for probe, reason in raw.failed:
        yield f"{probe}: {reason}"


def _host_answered(raw: ExposureRaw) -> bool:
    if raw.snmp is not None and (raw.snmp.answering or raw.snmp.icmp_unreachable):
        return True
    states = [o.state for o in (*raw.services, *raw.ssh)]
    states += [t.state for t in raw.tls if t.host == raw.facts.host]
    return any(state in ("open", "closed") for state in states)


def findings_of(raw: ExposureRaw, params: ExposureParams, now: datetime) -> list[Finding]:
    """Every open door in what the probes saw, accepted ones marked."""
    found: list[Finding] = []
    if raw.snmp is not None:
        found += _snmp(raw.snmp, raw)
    for svc in raw.services:
        found += _service(svc)
    for ssh in raw.ssh:
        found += _ssh(ssh, params.ssh_probe_user)
    for tls in raw.tls:
        found += _tls(tls, now)
    accepted = set(params.accept)
    return [replace(f, accepted=True) if f.kind.id in accepted else f for f in found]


def evaluate_exposure(raw: ExposureRaw, params: ExposureParams, ctx: CheckContext) -> Outcome:
    """The check's outcome: one result per finding (its severity; OK when accepted, with the
    fix in the details), UNKNOWN for each probe that could not tell, and a count."""
    findings = findings_of(raw, params, ctx.now)
    lead = lead_finding(findings)
    results = [Result(State.OK if f.accepted else f.state,
                      f.summary + (f" — {fix_words(f.kind.fix)}" if f is lead else ""),
                      f.details, affects_availability=False) for f in findings]
    errors = list(_probe_errors(raw))
    results += [Result(State.UNKNOWN, f"could not tell: {e}", affects_availability=False)
                for e in errors]
    if raw.unfinished:
        results.append(Result(State.UNKNOWN, f"{len(raw.unfinished)} probe(s) not finished "
                              f"within the {raw.budget:g}s budget: {', '.join(raw.unfinished)}",
                              affects_availability=False))
    if raw.probes and not findings and not errors and not raw.unfinished \
            and not _host_answered(raw):
        results.append(Result(State.UNKNOWN, f"the host answered none of {raw.probes} probes "
                              "(down, or every port filtered): its exposure is unknown",
                              affects_availability=False))
    open_doors = [f for f in findings if not f.accepted]
    if not results or all(r.state is State.OK for r in results):
        accepted = f", {len(findings)} accepted" if findings else ""
        results.insert(0, Result(State.OK, f"no open door found ({raw.probes} probes"
                                 f"{accepted})", affects_availability=False))
    metrics = [Metric("findings", len(open_doors), min=0),
               Metric("findings_critical",
                      sum(f.state is State.CRITICAL for f in open_doors), min=0)]
    services = list(raw.facts.services)
    return Outcome.of(results, metrics,
                      [{**f.as_item(), "services": services} for f in findings])


def lead_finding(findings: list[Finding]) -> Finding | None:
    """The door to close first: the first open one of the worst severity. Its result carries
    the fix, so the alert's one line says what is open *and* what to do."""
    open_doors = [f for f in findings if not f.accepted]
    if not open_doors:
        return None
    worst = State.worst(f.state for f in open_doors)
    return next(f for f in open_doors if f.state is worst)


def fix_words(fix: str) -> str:
    """"fix: turn telnet off ..." — the catalogue's sentence, continuing a line (results
    are joined with commas: no full stop)."""
    return f"fix: {fix[:1].lower()}{fix[1:].rstrip('.')}"
