"""The device-class rules are judged once per distinct device, not at every poll (issue 16),
and the remembered answer is the one the rules give."""

from __future__ import annotations

from muni_watchdog.checks.snmp import classes
from muni_watchdog.checks.snmp import oids as O

EDGE = {O.SYS_DESCR: b"EdgeSwitch 24-Port Lite, 1.9.3", O.SYS_OBJECT_ID: "1.3.6.1.4.1.4413",
        O.SYS_UPTIME: 100}


LINUX = {O.SYS_DESCR: b"Linux town-hall 6.1.0-13-amd64 #1 SMP Debian 6.1.55-1 x86_64",
         O.SYS_OBJECT_ID: "1.3.6.1.4.1.8072.3.2.10", O.SYS_UPTIME: 100}


def first_rule_plain(values, answering):
    return classes._first_rule(values, answering)


def test_a_second_poll_of_the_same_device_reuses_the_answer():
    classes.matching_rule.remembered.cache_clear()
    first = classes.matching_rule(EDGE, set())
    # the next poll: another uptime, a new dict — the same answer, without the rules
    again = classes.matching_rule(EDGE | {O.SYS_UPTIME: 6100}, set())
    info = classes.matching_rule.remembered.cache_info()
    assert first == again == first_rule_plain(EDGE, set())
    assert first is not None and first[0].vendor == "Ubiquiti"
    assert (info.hits, info.misses) == (1, 1)


def test_what_the_rules_read_changes_the_answer():
    classes.matching_rule.remembered.cache_clear()
    edge = classes.matching_rule(EDGE, set())
    other = EDGE | {O.SYS_DESCR: b"Cisco Adaptive Security Appliance Version 9.8"}
    assert classes.matching_rule(other, set()) == first_rule_plain(other, set()) != edge
    # the answering probes are part of it: a printer MIB answering wins
    assert classes.matching_rule(EDGE, {"printer"})[0].device_class == "printer"
    # every value a rule reads (extra OIDs too) is in the key
    assert set(classes._LOOKED_AT) >= {oid for r in classes.RULES for oid, _ in r.extra}


def test_a_value_that_cannot_be_a_key_is_judged_without_the_memory():
    odd = EDGE | {O.SYS_OBJECT_ID: ["1.3.6.1.4.1.4413"]}   # a list: unhashable
    assert classes.matching_rule(odd, set()) == first_rule_plain(odd, set())


def test_the_class_and_vendor_without_a_rule_are_remembered_too():
    """A plain net-snmp Linux box matches no rule: its class comes from the hints, the
    enterprise number and the MIBs that answer — regexes that are not run again each poll."""
    for judged in (classes.classify, classes.vendor):
        judged.remembered.cache_clear()
    answering = {"storage", "interfaces"}
    first = classes.classify(LINUX, answering)
    again = classes.classify(LINUX | {O.SYS_UPTIME: 6100}, set(answering))
    assert first == again == classes.classify.__wrapped__(LINUX, answering) == "server"
    assert classes.classify.remembered.cache_info()[:2] == (1, 1)   # hits, misses
    # other probes answering: judged again
    assert classes.classify(LINUX, {"printer"}) == "printer"
    assert classes.classify.remembered.cache_info()[:2] == (1, 2)
    assert classes.vendor(LINUX, answering) == classes.vendor.__wrapped__(LINUX, answering)
    assert classes.vendor(LINUX, answering) == classes.vendor.__wrapped__(LINUX, answering)
    assert classes.vendor.remembered.cache_info()[:2] == (1, 1)
