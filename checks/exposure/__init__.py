"""``exposure``: the classic open doors of ONE configured target, found from the outside.

What an attacker on the town's network would try first, probed on the target's own host (and
the URLs configured for it) only — never a sweep of a network:

* SNMP: the agent answers a default community (``public``, ``private`` and a few vendors'
  documented defaults), or any community at all; v1/v2c answered by an agent that also speaks
  SNMPv3. One GET of ``sysDescr.0`` per community and an SNMPv3 engine discovery (an empty
  request every v3 agent must answer with a Report, RFC 3414 §4). Never a SET.
* Clear-text management: telnet, FTP, and HTTP admin pages without TLS on network gear,
  printers, UPSes and storage. A TCP connect and the banner or the page title only.
* SSH: password authentication offered, and weak key exchanges, ciphers, MACs and host key
  types, read from the server's own KEXINIT algorithm lists before any login.
* TLS: protocol versions below 1.2 accepted, certificate chain problems, weak keys and SHA-1
  signatures; RDP reachable where it is not expected.

Nothing here logs in, and nothing guesses a credential: a community string is tried only from
the short list of factory defaults (the question *is* "does the factory default still
work?"), an SSH server is asked which methods it offers with the ``none`` method (RFC 4252
§5.2, what ``ssh -v`` does first; it is not a password attempt and OpenSSH does not count it
against ``MaxAuthTries``), telnet and FTP are read up to their prompt and left. Every probe
has a timeout and a byte cap, at most ``concurrency`` run at once, and the whole run has one
time budget (the check's ``timeout``).

Modules: :mod:`.catalogue` (what each finding means, its severity and its source),
:mod:`.observations` (what the probes saw), :mod:`.evaluate` (pure judgement),
:mod:`.ssh_algorithms`, :mod:`.certificates`, :mod:`.banners`, :mod:`.snmp_v3` (pure
parsers), :mod:`.probes` and :mod:`.probe_tls` / :mod:`.probe_ssh` / :mod:`.probe_snmp` (I/O),
:mod:`.collect` (plan and run the probes within the budget), :mod:`.check` (the check type).
"""
