"""Fuzz the embedded operations server (``tarry.testing.OperationsServer``) over its socket.

Each input becomes bytes sent to the server on a fresh loopback connection: requests
assembled from pieces (methods, targets, versions, headers such as conflicting
Content-Length, chunked bodies with broken chunk sizes, Expect, Upgrade, folded and
oversized headers, bare LF line ends, pipelined requests, create calls with JSON
scripts) or raw bytes. The bytes go out at once or in pieces; then the client either
half-closes and reads, or resets the connection.

Invariant
=========
1. The server answers or closes: after the client half-closes, the connection ends
   within a few seconds, and whatever came back starts with an HTTP/1.1 status line.
2. It never dies or hangs: after every input, a normal request on a new connection is
   answered 200, and no connection thread outlives its client.

The server is one per process (started on first use, bound to 127.0.0.1 only), with
small limits (2 KiB of head, 4 KiB of body, 3 s idle) so they are reached quickly.

Run: ``python fuzz/fuzz_server.py [--seconds N] [libFuzzer options] [corpus dirs]``.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from typing import Any

from _source import Source

from tarry.testing import OperationsServer, Step

__all__ = ["stop", "test_one_input"]

ANSWER_WITHIN = 8.0  # seconds: well past the server's 1 s drain and 3 s idle timeout
_STATUS_LINE = re.compile(rb"HTTP/1\.1 [1-5][0-9][0-9] ")

_server: OperationsServer | None = None
_resource_path = "/"


def _running() -> OperationsServer:
    global _server, _resource_path
    if _server is None:
        server = OperationsServer(idle_timeout=3.0, max_header_bytes=2048, max_body_bytes=4096)
        server.start()
        _resource_path = server.add_resource([Step("PENDING"), Step("RUNNING", at=0.5)]).path
        _server = server
    return _server


def stop() -> None:
    """Stop the server this module started (the replay test calls it when done)."""
    global _server
    if _server is not None:
        _server.stop()
        _server = None


_METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"PATCH", b"OPTIONS", b"CONNECT")
_ODD_METHODS = (b"TRACE", b"get", b"G T", b"", b"\x00", b"GET\x7f")
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 x", b"", b"HTTP/9")


def _target(src: Source) -> bytes:
    fixed = (
        _resource_path.encode(),
        b"/resources",
        b"/v1/operations/none",
        b"/v1/projects/p/things",
        b"/_tarry/operations",
        b"/_tarry/requests",
        b"/_tarry/r/x",
        b"/api/2.1/clusters/get?cluster_id=1",
        b"/api/2.1/jobs/runs/get?run_id=",
        b"/subscriptions/s/resourceGroups/g/providers/p/x",
        b"*",
        b"http://127.0.0.1/x",
        b"",
        b"/%zz",
        b"/\xff\xfe",
    )
    if src.below(6) == 0:
        return b"/" + b"a" * src.below(4000)
    return src.pick(fixed) + (src.blob(8) if src.below(4) == 0 else b"")


def _script(src: Source) -> bytes:
    """A create call's body: a scenario of plain steps (never a hang or a delay)."""
    steps: list[Any] = []
    for _ in range(src.below(4)):
        step: dict[str, Any] = {"state": src.pick(("PENDING", "RUNNING", "DONE", "", 5))}
        if src.flag():
            step[src.pick(("at", "poll"))] = src.pick((0, 1, 0.5, -1, "x", None, 10**30))
        if src.flag():
            step["message"] = src.text(6)
        steps.append(step)
    doc: Any = {"tarry": {"steps": steps}} if src.below(4) else src.pick(([], "x", None, {}))
    return json.dumps(doc).encode()


def _chunked(body: bytes, src: Source) -> bytes:
    if src.below(3) == 0:
        size = src.pick((b"zz", b"-1", b"ffffffffffffffffffff", b"", b"1;ext=1", b" 5"))
        return size + b"\r\n" + body + b"\r\n0\r\n\r\n"
    out = b""
    while body:
        piece, body = body[: 1 + src.below(16)], body[16:]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + src.pick((b"0\r\n\r\n", b"0\r\nX-Trailer: 1\r\n\r\n", b"", b"0\r\n"))


def _request(src: Source) -> bytes:
    method = src.pick(_METHODS) if src.below(8) else src.pick(_ODD_METHODS)
    end = b"\r\n" if src.below(6) else b"\n"
    kind = src.below(4)
    body = _script(src) if kind < 2 else (src.blob(64) if kind == 2 else b"x" * src.below(9000))
    chunked = src.below(5) == 0
    lines = [method + b" " + _target(src) + b" " + src.pick(_VERSIONS)]
    if src.below(8):
        lines.append(b"Host: " + src.pick((b"127.0.0.1", b"", b"a b", b"127.0.0.1:1")))
    length = str(len(body)).encode()
    for _ in range(src.below(5)):
        lines.append(
            src.pick(
                (
                    b"Content-Length: " + length,
                    b"Content-Length: " + src.pick((b"-1", b"abc", b"99999999999999", b"1, 2")),
                    b"Content-Length: 0",
                    b"Transfer-Encoding: chunked",
                    b"Transfer-Encoding: gzip, chunked",
                    b"Connection: close",
                    b"Connection: keep-alive, Upgrade",
                    b"Upgrade: websocket",
                    b"Expect: 100-continue",
                    b"Content-Type: application/json",
                    b"X-No-Colon",
                    b" folded continuation",
                    b"X-Long: " + b"v" * src.below(3000),
                    b"X-Bin: \x00\xff",
                    b"Retry-After: 5",
                )
            )
        )
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        body = _chunked(body, src)
    elif body and src.below(4):
        lines.append(b"Content-Length: " + length)
    return end.join(lines) + end + end + body


def _payload(src: Source) -> bytes:
    if src.below(4) == 0:
        prefix = src.pick((b"", b"GET / HTTP/1.1\r\n", b"POST /resources HTTP/1.1\r\nHost: x\r\n"))
        return prefix + src.rest()
    return b"".join(_request(src) for _ in range(1 + src.below(3)))


def _client_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "tarry-operations-client"}


def _exchange(port: int, payload: bytes, src: Source) -> None:
    """Send ``payload``; unless the client resets, the server must answer or close."""
    pieces = src.below(3) + 1
    reset = src.below(6) == 0
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN) as sock:
        step = max(1, len(payload) // pieces)
        try:
            for at in range(0, len(payload), step):
                sock.sendall(payload[at : at + step])
        except (BrokenPipeError, ConnectionResetError):
            return  # the server refused early and closed: allowed
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server already closed (or reset) the connection: allowed
            return
        received = b""
        deadline = time.monotonic() + ANSWER_WITHIN
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except TimeoutError:
                chunk = None
            if chunk == b"":
                break
            if chunk is None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the server neither answered nor closed within {ANSWER_WITHIN} s "
                    f"(got {received[:80]!r})"
                )
            received += chunk
    if received:
        assert _STATUS_LINE.match(received), f"not an HTTP answer: {received[:80]!r}"


def _still_serves(port: int) -> None:
    request = f"GET {_resource_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), f"a normal request got {answer[:80]!r}"


def test_one_input(data: bytes) -> None:
    """Send the bytes ``data`` describes; check the server answered or closed, and lives."""
    server = _running()
    server.clear_requests()
    before = _client_threads()
    src = Source(data)
    _exchange(server.port, _payload(src), src)
    _still_serves(server.port)
    deadline = time.monotonic() + ANSWER_WITHIN
    while _client_threads() - before:
        assert time.monotonic() < deadline, "a connection thread outlived its client"
        time.sleep(0.001)


def main() -> None:
    from _runner import main as run

    run("fuzz_server", test_one_input, instrument=("tarry", "h11"))


if __name__ == "__main__":
    main()
