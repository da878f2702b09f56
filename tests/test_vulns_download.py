"""Downloading feeds from a real HTTP server on 127.0.0.1: conditional GET (304), and every
bad answer — truncated, oversize, slow, not the feed's format, unreachable — leaves the last
good copy and index in place and is recorded as the feed's error. No copy at all: the view
says so (the check turns it into UNKNOWN)."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lab.ssh_lab import free_port
from muni_watchdog.checks.ssh.installed import OsIdentity
from muni_watchdog.checks.vulns.feeds import FeedSource, fetch, load_view, read_copy, update_feed
from muni_watchdog.checks.vulns.index import read_manifest

DATA = Path(__file__).parent / "data" / "vulns"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DEBIAN12 = OsIdentity("debian", "12", "bookworm")


class FeedServer:
    """Serves ``self.body`` at any path with an ETag, honouring If-None-Match; ``mode`` makes
    it misbehave: truncate (promise more bytes than sent), slow (drip), chunked (no length)."""

    def __init__(self, body: bytes):
        self.body, self.mode, self.requests = body, "normal", []
        self.dripped, self.drip_over = 0, threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                outer.requests.append(dict(self.headers))
                etag = '"' + hashlib.sha256(outer.body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag and outer.mode == "normal":
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT")
                if outer.mode == "chunked":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(outer.body)
                    return
                declared = len(outer.body) * (2 if outer.mode == "truncate" else 1)
                self.send_header("Content-Length", str(declared))
                self.send_header("Connection", "close")
                self.end_headers()
                if outer.mode == "slow":
                    try:
                        for i in range(0, len(outer.body), 64):
                            self.wfile.write(outer.body[i:i + 64])
                            self.wfile.flush()
                            outer.dripped += 64
                            time.sleep(0.2)
                    except OSError:  # the client hung up
                        pass
                    finally:
                        outer.drip_over.set()
                    return
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/feed"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


TRACKER = (DATA / "debian-tracker.sample.json").read_bytes()


def source(url: str, **kw) -> FeedSource:
    return FeedSource("debian-tracker", url, "debian-tracker", **kw)


def test_first_download_then_304_keeps_the_copy_and_refreshes_its_age(tmp_path):
    with FeedServer(TRACKER) as server:
        first = update_feed(source(server.url), tmp_path, T0)
        assert first.changed and not first.error
        assert first.copy.size == len(TRACKER) and first.copy.etag
        later = T0 + timedelta(hours=6)
        second = update_feed(source(server.url), tmp_path, later)
        assert not second.changed and not second.error
        assert server.requests[-1].get("If-None-Match") == first.copy.etag
        assert second.copy.verified_at == later and second.copy.downloaded_at == T0
    assert read_manifest(tmp_path / "index", "debian-tracker")["built_at"] == T0.isoformat()


def download_then(tmp_path, mode, body=TRACKER, **limits):
    """A good copy first, then an attempt in ``mode``: returns (good, attempt)."""
    with FeedServer(TRACKER) as server:
        good = update_feed(source(server.url), tmp_path, T0)
        server.mode, server.body = mode, body
        attempt = update_feed(source(server.url, **limits), tmp_path, T0 + timedelta(hours=6))
    return good, attempt


def assert_last_good_kept(tmp_path, good, attempt):
    assert attempt.error and not attempt.changed
    assert attempt.copy is not None and attempt.copy.sha256 == good.copy.sha256
    assert attempt.copy.verified_at == T0  # its age keeps growing: it was not confirmed
    assert read_copy(tmp_path / "raw", "debian-tracker").last_error == attempt.error
    assert read_manifest(tmp_path / "index", "debian-tracker")["built_at"] == T0.isoformat()
    assert not list((tmp_path / "raw").glob(".*.part"))


def test_truncated_body(tmp_path):
    good, attempt = download_then(tmp_path, "truncate", TRACKER + b" ")
    assert "cut short" in attempt.error or "IncompleteRead" in attempt.error
    assert_last_good_kept(tmp_path, good, attempt)


def test_truncated_body_without_a_length_is_caught_by_the_parser(tmp_path):
    good, attempt = download_then(tmp_path, "chunked", TRACKER[: len(TRACKER) // 2])
    assert "truncated" in attempt.error
    assert_last_good_kept(tmp_path, good, attempt)


def test_oversize_declared(tmp_path):
    good, attempt = download_then(tmp_path, "normal", TRACKER * 3, max_bytes=len(TRACKER) + 10)
    assert "more than the limit" in attempt.error
    assert_last_good_kept(tmp_path, good, attempt)


def test_oversize_undeclared(tmp_path):
    good, attempt = download_then(tmp_path, "chunked", TRACKER * 3, max_bytes=len(TRACKER) + 10)
    assert "more than the limit" in attempt.error
    assert_last_good_kept(tmp_path, good, attempt)


def test_slow_server_hits_the_total_time_limit(tmp_path):
    """A server that drips 64 bytes every 0.2 s: every socket read succeeds, yet the whole
    download must stop at its limit — long before the body is through."""
    with FeedServer(TRACKER) as server:
        good = update_feed(source(server.url), tmp_path, T0)
        server.mode, server.body = "slow", TRACKER + b"\n"
        attempt = update_feed(source(server.url, timeout=1.0), tmp_path, T0 + timedelta(hours=1))
        assert server.drip_over.wait(60)
    assert "not finished within 1s" in attempt.error
    assert server.dripped < len(TRACKER) / 4, "the client read on past its deadline"
    assert_last_good_kept(tmp_path, good, attempt)


def test_not_the_feeds_format(tmp_path):
    good, attempt = download_then(tmp_path, "normal", b"<html>Service Unavailable</html>")
    assert "not valid JSON" in attempt.error
    assert_last_good_kept(tmp_path, good, attempt)


def test_unreachable_with_and_without_a_copy(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/feed"
    result = update_feed(source(dead, timeout=5), tmp_path, T0)
    assert result.copy is None and "refused" in result.error.lower()
    view = load_view(tmp_path, DEBIAN12, {"openssh"}, feeds=["debian-tracker"])
    assert view.feeds == () and "no downloaded vulnerability feed covers Debian:12" in \
        view.problems[0]
    with FeedServer(TRACKER) as server:
        good = update_feed(source(server.url), tmp_path / "b", T0)
    again = update_feed(source(dead, timeout=5), tmp_path / "b", T0 + timedelta(days=3))
    assert_last_good_kept(tmp_path / "b", good, again)


def test_http_error_status(tmp_path):
    with FeedServer(TRACKER) as server:
        update_feed(source(server.url), tmp_path, T0)
    gone = update_feed(source(server.url.replace("/feed", "/missing"), timeout=5), tmp_path,
                       T0)
    assert gone.error


def test_view_reports_the_copy_age_and_last_error(tmp_path):
    good, attempt = download_then(tmp_path, "normal", b"{broken")
    kev = tmp_path / "raw" / "kev.data"
    kev.write_bytes((DATA / "kev.sample.json").read_bytes())
    view = load_view(tmp_path, DEBIAN12, {"openssh", "glibc"}, feeds=["debian-tracker"])
    (state,) = view.feeds
    assert state.fetched_at == T0 and "not valid JSON" in state.error
    assert set(view.advisories) == {"openssh", "glibc"}
    assert view.kev is not None and "CVE-2023-4911" in view.kev
    assert view.kev_state.fetched_at is None  # a copy nobody downloaded: never confirmed


def test_kev_download_is_validated(tmp_path):
    with FeedServer(b'{"vulnerabilities": "nope"}') as server:
        result = update_feed(FeedSource("kev", server.url, "kev"), tmp_path, T0)
    assert result.copy is None and "no 'vulnerabilities' list" in result.error


def test_fetch_without_accept_needs_a_body(tmp_path):
    with FeedServer(b"") as server:
        result = fetch(source(server.url), tmp_path, T0)
    assert result.copy is None and "empty body" in result.error


@pytest.mark.parametrize("osv_body", [(DATA / "osv-records.sample.json").read_bytes()])
def test_osv_feed_end_to_end(tmp_path, osv_body):
    with FeedServer(osv_body) as server:
        result = update_feed(FeedSource("osv-debian", server.url, "osv"), tmp_path, T0)
    assert result.changed, result.error
    view = load_view(tmp_path, DEBIAN12, {"glibc", "openssh"}, feeds=["osv-debian"])
    assert {a.vuln_id for a in view.advisories["glibc"]} == {"DSA-5514-1"}
