"""Every kind of open door the ``exposure`` check reports: its severity, the fix in one
sentence, and where the severity comes from.

The rule for severities: a finding Greenbone/OpenVAS (or Tenable Nessus) rates High (CVSS
>= 7.0) is CRITICAL; Medium and Low are WARNING (a finding is never OK: the town can accept
one explicitly with ``accept:``). Where a DISA STIG rates a door CAT I, we follow the stricter
rating and say so. The NVT OIDs name Greenbone's vulnerability tests (greenbone/
vulnerability-tests); the Nessus plugin ids name Tenable's.
"""

from __future__ import annotations

from dataclasses import dataclass

from muni_watchdog.core.model import State


@dataclass(frozen=True)
class FindingKind:
    id: str
    state: State
    title: str      # what is open, in a few words
    fix: str        # the fix, one sentence a technician can act on
    source: str     # where the severity comes from


_KINDS = (
    # ---- SNMP ----------------------------------------------------------------------------
    FindingKind(
        "snmp_default_community", State.CRITICAL, "SNMP answers a default community",
        "Replace the community with a long random one allowed only from the monitor's "
        "address, or move the agent to SNMPv3 authPriv and turn v1/v2c off.",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.10264 'Report default community names of the "
        "SNMP Agent' (CVSS 7.5, High); Nessus 41028 (High); DISA STIG RHEL-07-040580 (CAT I)"),
    FindingKind(
        "snmp_any_community", State.CRITICAL, "SNMP answers any community",
        "Configure the agent to accept one secret community (or SNMPv3 users only) and only "
        "from the monitor's address.",
        "as snmp_default_community: an agent that answers every community answers the "
        "defaults (Greenbone 1.3.6.1.4.1.25623.1.0.103914 notes such agents)"),
    FindingKind(
        "snmp_v1v2c_with_v3", State.WARNING, "SNMP v1/v2c in use although the agent speaks v3",
        "Give the monitor an SNMPv3 authPriv user (SHA-256/AES) and turn v1/v2c off on the "
        "agent.",
        "NSA Network Infrastructure Security Guide (U/OO/118623-22, 2022), SNMP: use SNMPv3 "
        "with authentication and encryption; v1/v2c send the community in clear"),
    # ---- clear-text management --------------------------------------------------------------
    FindingKind(
        "telnet", State.CRITICAL, "telnet open",
        "Turn telnet off and manage the device over SSH or its HTTPS interface.",
        "DISA STIG RHEL-08-040000 (a telnet server is CAT I); Greenbone 1.3.6.1.4.1.25623.1.0."
        "108522 rates the sniffing risk 4.8 Medium — we follow the STIG because every telnet "
        "login carries the device's administrator password in clear"),
    FindingKind(
        "ftp", State.WARNING, "FTP open (clear-text logins)",
        "Turn FTP off, or require FTPS or SFTP for the transfer that needs it.",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.108528 'FTP Unencrypted Cleartext Login' "
        "(4.8, Medium)"),
    FindingKind(
        "http_cleartext_admin", State.WARNING, "management page over plain HTTP",
        "Turn on HTTPS for the management interface and make plain HTTP redirect to it (or "
        "turn it off).",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.108440 'Cleartext Transmission of Sensitive "
        "Information via HTTP' (4.8, Medium)"),
    FindingKind(
        "rdp_unexpected", State.WARNING, "Remote Desktop (RDP) reachable",
        "Close port 3389 on this host (firewall, or turn Remote Desktop off) and reach it "
        "through the VPN if it is needed.",
        "FBI PSA I-092719-PSA (criminals exploit exposed RDP); CIS Controls v8 4.8 (disable "
        "unnecessary services)"),
    # ---- SSH --------------------------------------------------------------------------------
    FindingKind(
        "ssh_password_auth", State.WARNING, "SSH offers password logins",
        "Set 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' in "
        "sshd_config and log in with keys.",
        "Mozilla OpenSSH guidelines ('AuthenticationMethods publickey'); passwords can be "
        "guessed from the network, keys cannot"),
    FindingKind(
        "ssh_no_authentication", State.CRITICAL, "SSH lets anyone in without authentication",
        "Require a key or password for every account on this SSH server (or turn it off).",
        "CWE-306; Greenbone rates unauthenticated remote consoles High (e.g. "
        "1.3.6.1.4.1.25623.1.0.103665, 10.0)"),
    FindingKind(
        "ssh_protocol_1", State.WARNING, "SSH protocol 1 offered",
        "Turn SSH protocol 1 off (or update the firmware): only SSH-2 is safe.",
        "Nessus 10882 'SSH Protocol Version 1 Session Key Retrieval' (Medium)"),
    FindingKind(
        "ssh_weak_kex", State.WARNING, "SSH offers weak key exchanges",
        "Remove the listed algorithms from KexAlgorithms (keep curve25519-sha256, "
        "diffie-hellman-group16-sha512 and stronger).",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.150713 (4.6, Medium); RFC 9142; ssh-audit"),
    FindingKind(
        "ssh_weak_cipher", State.WARNING, "SSH offers weak ciphers",
        "Remove the listed ciphers from Ciphers (keep chacha20-poly1305, aes-gcm, aes-ctr).",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.105611 (4.3, Medium); ssh-audit"),
    FindingKind(
        "ssh_weak_mac", State.WARNING, "SSH offers weak MACs",
        "Remove the listed MACs from MACs (keep the hmac-sha2-*-etm@openssh.com ones).",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.105610 (2.6, Low: WARNING is our lowest "
        "non-OK state)"),
    FindingKind(
        "ssh_weak_host_key", State.WARNING, "SSH offers weak host key types",
        "Remove the listed types from HostKeyAlgorithms and delete DSA host keys (use "
        "ssh-ed25519 or rsa-sha2-256/512).",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.117687 (4.6, Medium: ssh-dss); OpenSSH 8.8 "
        "release notes (ssh-rsa SHA-1 signatures disabled by default)"),
    # ---- TLS --------------------------------------------------------------------------------
    FindingKind(
        "tls_legacy_protocol", State.WARNING, "TLS 1.0/1.1 accepted",
        "Set the server's minimum TLS version to 1.2.",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.117274 (4.3, Medium); RFC 8996 deprecates "
        "TLS 1.0 and 1.1"),
    FindingKind(
        "tls_expired", State.WARNING, "TLS certificate expired",
        "Renew the certificate and automate its renewal (ACME).",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.103955 'SSL/TLS: Certificate Expired' (Medium)"),
    FindingKind(
        "tls_self_signed", State.WARNING, "TLS certificate is self-signed",
        "Install a certificate from a CA the clients trust (the town's own CA for internal "
        "devices, a public CA for resident-facing sites).",
        "Nessus 57582 'SSL Self-Signed Certificate' (Medium)"),
    FindingKind(
        "tls_untrusted", State.WARNING, "TLS certificate not trusted",
        "Install a certificate whose chain leads to a trusted CA, with the intermediate "
        "certificates served too.",
        "Nessus 51192 'SSL Certificate Cannot Be Trusted' (Medium)"),
    FindingKind(
        "tls_hostname_mismatch", State.WARNING, "TLS certificate is for another name",
        "Issue the certificate for the name clients use (in its subjectAltName).",
        "Nessus 45411 'SSL Certificate with Wrong Hostname' (Medium)"),
    FindingKind(
        "tls_weak_key", State.WARNING, "TLS certificate key too small",
        "Replace the certificate with one on an RSA key of at least 2048 bits or an ECDSA "
        "P-256 key.",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.150710 (RSA < 2048, Medium); Mozilla Server "
        "Side TLS (RSA 2048 / ECDSA P-256 minimum)"),
    FindingKind(
        "tls_weak_signature", State.WARNING, "TLS certificate signed with SHA-1 or MD5",
        "Reissue the certificate with a SHA-256 signature.",
        "Greenbone NVT 1.3.6.1.4.1.25623.1.0.105880 'Certificate Signed Using A Weak "
        "Signature Algorithm' (4.0, Medium)"),
)

CATALOGUE: dict[str, FindingKind] = {kind.id: kind for kind in _KINDS}
FINDING_IDS = tuple(CATALOGUE)
