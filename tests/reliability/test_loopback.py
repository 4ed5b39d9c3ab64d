"""The embedded server and ``tarry serve`` listen on 127.0.0.1 only, by the kernel's word."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tarry.testing import Fault, OperationsServer

LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def listening_addresses(port: int) -> set[str]:
    """The local addresses the kernel has a TCP socket listening on at ``port``, read from
    /proc/net/tcp and /proc/net/tcp6 (as dotted IPv4, or the raw IPv6 hex)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) != port or fields[3] != LISTEN:
                continue
            if len(address) == 8:  # IPv4, little-endian
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
            else:
                found.add(address)
    return found


needs_proc = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads the kernel's socket table in /proc"
)


@needs_proc
def test_operations_server_listens_on_loopback_only(server: OperationsServer) -> None:
    """The kernel lists one listening socket on the server's port: 127.0.0.1."""
    assert listening_addresses(server.port) == {"127.0.0.1"}
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.2", server.port), timeout=2),
    ):
        pass


def test_connections_send_answers_without_delay(server: OperationsServer) -> None:
    """Every accepted connection has TCP_NODELAY: an answer written in pieces (head, body,
    end) is not held back until the client's delayed ACK (about 40 ms per request)."""
    op = server.add_resource(faults=[Fault.hang()])
    target = httpx.URL(op.url).raw_path
    # A raw socket, held open by the test itself, so the connection cannot be gone (as it
    # is once an HTTP client gives up on the hanging answer) before it is inspected.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        give_up = time.monotonic() + 10
        sockets: list[socket.socket] = []
        while not sockets and time.monotonic() < give_up:
            with server._lock:
                sockets = list(server._clients)
            time.sleep(0.01)
        assert sockets, "the server never accepted the connection"
        for sock in sockets:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@needs_proc
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_tarry_serve_listens_on_loopback_only() -> None:
    """``tarry serve --port 0`` announces a 127.0.0.1 URL, listens there only, and stops
    cleanly on Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tarry", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("tarry operations server on http://127.0.0.1:"), first
        port = int(first.split("http://127.0.0.1:")[1].split()[0])
        assert listening_addresses(port) == {"127.0.0.1"}
        assert httpx.get(f"http://127.0.0.1:{port}/_tarry/operations").status_code == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "stopping" in out
    assert "Traceback" not in err


def test_stopped_server_releases_its_port() -> None:
    """Once stopped, the server's port is released: nothing is left listening on it."""
    with OperationsServer() as running:
        port = running.port
    deadline = time.monotonic() + 5
    while Path("/proc/net/tcp").exists() and listening_addresses(port):
        assert time.monotonic() < deadline, "the port is still listening after stop()"
        time.sleep(0.02)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 2):
        pass
