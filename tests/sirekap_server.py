"""A SIREKAP-compatible HTTP server for tests: a mirror folder served at the public endpoint layout.

    with SirekapServer(mirror) as server:          # http://127.0.0.1:<free port>
        server.fault("error", "pilkada/hhcw/pkwkp/64.json", times=2)
        crawl(Target(server.url, "pilkada2024", "pkwkp", "64"), archive)
        server.counts["pilkada/hhcw/pkwkp/64.json"]  # 3: two 500s, then the file

GET /<path> answers with the file <mirror>/<path> (the demo generator and scrapers' mirrors lay
files out exactly as the endpoints: pilkada/hhcw/pkwkp/64/6401.json, wilayah/..., paslon/...),
404 for anything else. Faults are injected per path (or predicate), for the first `times`
requests of each matching path or for all of them. `root` can be swapped between two crawls to
serve changed data. Every request is counted per path; past `request_limit` requests the server
answers 503 and sets `limit_exceeded`, so a runaway client cannot run a test forever.

It lives with the tests: the real API is the thing to crawl outside them. For a manual try:
    python -m tests.sirekap_server demo/sirekap --port 8064
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

FAULT_KINDS = ("slow", "hang", "error", "rate_limit", "truncate", "invalid_json", "not_found")


@dataclass
class Fault:
    """One kind of misbehaviour for the paths it matches.

    slow: answer after `delay` seconds; hang: say nothing for `delay` seconds (set it past the
    client's timeout), then drop the connection; error: HTTP `status` (500); rate_limit: 429 with
    `Retry-After: retry_after`; truncate: promise the whole body, send half, close;
    invalid_json: 200 with an HTML page; not_found: 404.
    """

    kind: str
    match: str | Callable[[str], bool]
    times: int | None = None  # per matching path; None = always
    delay: float = 0.0
    status: int = 500
    retry_after: str = "0"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}: one of {FAULT_KINDS}")

    def matches(self, path: str) -> bool:
        return self.match(path) if callable(self.match) else self.match == path


class SirekapServer:
    def __init__(self, root: Path, request_limit: int = 50_000, host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root)
        self.request_limit = request_limit
        self.faults: list[Fault] = []
        self.counts: Counter[str] = Counter()
        self.log: list[str] = []  # paths in the order requested
        self.arrivals: list[float] = []  # time.monotonic() of each request, in the same order
        self.limit_exceeded = False
        self._hits: Counter[tuple[int, str]] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def fault(self, kind: str, match: str | Callable[[str], bool], times: int | None = None, **options) -> Fault:
        added = Fault(kind, match, times, **options)
        with self._lock:
            self.faults.append(added)
        return added

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self._hits.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()
            self.arrivals.clear()

    def start(self) -> SirekapServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SirekapServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _on_request(self, path: str) -> Fault | None | str:
        with self._lock:
            self.counts[path] += 1
            self.log.append(path)
            self.arrivals.append(time.monotonic())
            if self.total > self.request_limit:
                self.limit_exceeded = True
                return "limit"
            for number, fault in enumerate(self.faults):
                if fault.matches(path) and (fault.times is None or self._hits[number, path] < fault.times):
                    self._hits[number, path] += 1
                    return fault
        return None

    def _file(self, path: str) -> bytes | None:
        file = (self.root / path).resolve()
        root = self.root.resolve()
        if not path.endswith(".json") or not file.is_relative_to(root) or not file.is_file():
            return None
        return file.read_bytes()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real CDN

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the body
        # back until the client's delayed ACK (~40 ms a request).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server: SirekapServer = self.server.owner  # type: ignore[attr-defined]
        path = unquote(urlsplit(self.path).path).lstrip("/")
        fault = server._on_request(path)
        if fault == "limit":
            return self._send(503, b"request limit of the test server exceeded", "text/plain")
        body = server._file(path)
        if isinstance(fault, Fault):
            kind = fault.kind
            if kind == "slow":
                server._stopping.wait(fault.delay)
            elif kind == "hang":
                server._stopping.wait(fault.delay)
                self.close_connection = True
                return
            elif kind == "error":
                return self._send(fault.status, b"<html><body><h1>Internal Server Error</h1></body></html>", "text/html")
            elif kind == "rate_limit":
                return self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": fault.retry_after})
            elif kind == "not_found":
                body = None
            elif kind == "truncate" and body is not None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            elif kind == "invalid_json" and body is not None:
                body = b"<html><body>Service temporarily unavailable</body></html>"
        if body is None:
            return self._send(404, b'{"message": "not found"}', "application/json")
        self._send(200, body, "application/json")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # quiet: the tests read `counts` and `log`


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a SIREKAP mirror folder at the public endpoint layout.")
    parser.add_argument("mirror", type=Path)
    parser.add_argument("--port", type=int, default=8064)
    args = parser.parse_args()
    with SirekapServer(args.mirror, request_limit=10**9, port=args.port) as server:
        print(f"serving {args.mirror} at {server.url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
