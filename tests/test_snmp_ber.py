"""Our SNMPv1/v2c BER codec against hand-built messages and net-snmp's encodings."""

from __future__ import annotations

import pytest

from checks.snmp import ber
from checks.snmp.ber import _int, _tlv, encode_oid


def response(varbinds: bytes, request_id: int = 7, status: int = 0, index: int = 0) -> bytes:
    pdu = _tlv(ber.RESPONSE, _int(request_id) + _int(status) + _int(index)
               + _tlv(ber.SEQUENCE, varbinds))
    return _tlv(ber.SEQUENCE, _int(1) + _tlv(ber.OCTET_STRING, b"public") + pdu)


def vb(oid: str, tag: int, content: bytes) -> bytes:
    return _tlv(ber.SEQUENCE, encode_oid(oid) + _tlv(tag, content))


def test_request_matches_net_snmp_bytes():
    # snmpget -v2c -c public HOST sysUpTime.0 with request id 1, as captured
    assert ber.encode_request(1, b"public", ber.GET, 1, ["1.3.6.1.2.1.1.3.0"]).hex() == (
        "302602010104067075626c6963a019020101020100020100300e300c06082b060102010103000500")
    bulk = ber.encode_request(1, b"c", ber.GETBULK, 2**31 - 1, ["1.3.6.1.2.1.2.2"], 0, 25)
    assert ber.request_id_of(bulk) is None  # a request is not a response


@pytest.mark.parametrize("tag, content, expected", [
    (ber.INTEGER, b"\xff", -1), (ber.INTEGER, b"\x00\x80", 128),
    (ber.COUNTER32, b"\x00\xff\xff\xff\xff", 4294967295),
    (ber.COUNTER64, b"\x00\xff\xff\xff\xff\xff\xff\xff\xff", 2**64 - 1),
    (ber.TIMETICKS, b"\x01\x00", 256), (ber.GAUGE32, b"\x64", 100),
    (ber.OCTET_STRING, b"\x04\x00", b"\x04\x00"), (ber.IP_ADDRESS, b"\xc0\x00\x02\x01",
                                                    "192.0.2.1"),
    (ber.OID, encode_oid("1.3.6.1.4.1.318.1.3.27")[2:], "1.3.6.1.4.1.318.1.3.27"),
    (ber.NULL, b"", None), (ber.NO_SUCH_OBJECT, b"", None), (ber.NO_SUCH_INSTANCE, b"", None),
    (ber.END_OF_MIB_VIEW, b"", ber.END_OF_MIB),
])
def test_values_of_every_type(tag, content, expected):
    request_id, status, index, varbinds = ber.decode_response(response(
        vb("1.3.6.1.2.1.1.1.0", tag, content)))
    assert (request_id, status, index) == (7, 0, 0)
    assert varbinds == [("1.3.6.1.2.1.1.1.0", expected)]


def test_long_lengths_and_big_arcs():
    long_text = b"x" * 300   # length in two bytes (0x82)
    oid = "1.3.6.1.4.1.2021.4294967295.0"
    message = response(vb(oid, ber.OCTET_STRING, long_text), request_id=2**31 - 1,
                       status=1, index=1)
    assert ber.request_id_of(message) == 2**31 - 1
    assert ber.decode_response(message) == (2**31 - 1, 1, 1, [(oid, long_text)])


@pytest.mark.parametrize("junk", [b"", b"\x30\x05\x02\x01", b"\x04\x02ab",
                                  b"\x30\x84\xff\xff\xff\xff",
                                  response(b"\x30\x03\x04\x01a")])
def test_malformed_answers_raise_ber_error(junk):
    with pytest.raises(ber.BerError):
        ber.decode_response(junk)
