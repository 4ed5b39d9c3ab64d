"""The embedded operations server: h11 over blocking sockets on 127.0.0.1.

Socket code only. Every answer comes from ``Scenarios.handle`` (see ``_scenarios``);
this module reads requests with h11, carries out the reply's action (answer, wait,
drop, reset, hang) and keeps the server alive whatever a client sends.

Threads: one accepts connections (a selector over the listening socket and a wake-up
socket pair, so ``stop`` interrupts it at once); each connection gets its own thread,
which serves keep-alive requests until the client closes, the idle timeout passes or
the server stops. ``stop`` shuts every client socket down (which wakes blocked reads),
releases hanging and slow answers, joins the threads and closes every socket.

Limits: a malformed request head is answered 400 and one that h11 has to buffer past
``max_header_bytes`` 431 (h11's RemoteProtocolError), and the connection closed; a body
larger than ``max_body_bytes`` is answered 413; a connection silent for
``idle_timeout`` seconds is closed, and connections past ``max_connections`` are
closed at once. A hanging answer holds its connection until the client hangs up or
the server stops.
"""

from __future__ import annotations

import contextlib
import functools
import http
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import h11

from ._scenarios import (
    Action,
    Operation,
    Reply,
    Request,
    Scenarios,
)

__all__ = ["OperationsServer"]

LOOPBACK = "127.0.0.1"
_RECV = 65536
_DRAIN_SECONDS = 1.0
_HOLD_TICK = 0.1
_DRAIN_BYTES = 4 * 1024 * 1024


P = ParamSpec("P")
R = TypeVar("R")


def _delegate(method: Callable[Concatenate[Scenarios, P], R]) -> Callable[Concatenate[Any, P], R]:
    """A server method that calls ``method`` on the server's scenarios, same signature."""

    @functools.wraps(method)
    def call(self: OperationsServer, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self.scenarios, *args, **kwargs)

    return call


class OperationsServer:
    """A fake cloud API on ``127.0.0.1`` that plays scripted long-running operations.

    Use it as a context manager (or call ``start`` and ``stop``)::

        with OperationsServer() as server:
            cluster = server.add_cluster([Step("PENDING"), Step("RUNNING", at=0.3)])
            httpx.get(cluster.url).json()   # {"cluster_id": ..., "state": "PENDING", ...}

    The ``add_*`` methods script operations in each convention and return handles
    with their URLs and request logs; operations can also be created over HTTP (see
    ``Scenarios``). ``requests`` records every request received. ``port=0`` picks a
    free port; ``url`` is ``http://127.0.0.1:<port>``. ``host`` must be 127.0.0.1: the
    server never listens anywhere else. ``scenarios`` shares the operations of another
    server, which then serves them on a second origin (useful for cross-origin tests).
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        idle_timeout: float = 10.0,
        max_header_bytes: int = 16 * 1024,
        max_body_bytes: int = 1024 * 1024,
        max_connections: int = 1000,
        default_duration: float = 1.0,
        scenarios: Scenarios | None = None,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the operations server binds only {LOOPBACK}, not {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, got {port!r}")
        if not idle_timeout > 0:
            raise ValueError("idle_timeout must be positive")
        if max_header_bytes < 1024 or max_body_bytes < 0:
            raise ValueError("max_header_bytes must be >= 1024 and max_body_bytes >= 0")
        self._port = port
        self.idle_timeout = float(idle_timeout)
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self.scenarios = scenarios or Scenarios(default_duration=default_duration)
        self._own_scenarios = scenarios is None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._acceptor: threading.Thread | None = None
        self._accepted = 0

    # Life cycle -------------------------------------------------------------------------

    def start(self) -> OperationsServer:
        """Bind, listen and serve in background threads; returns the server."""
        if self._stopping.is_set():
            raise RuntimeError("a stopped operations server cannot start again")
        if self._listener is not None:
            raise RuntimeError("the operations server is already running")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((LOOPBACK, self._port))
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._port = listener.getsockname()[1]
        if self._own_scenarios:
            self.scenarios.base_url = self.url
        self._wake = socket.socketpair()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"tarry-operations-{self._port}", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop serving: close every socket and join every thread. Safe to call twice."""
        self._stopping.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake[1].send(b"x")
        if self._acceptor is not None:
            self._acceptor.join()
            self._acceptor = None
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        if self._listener is not None:
            self._listener.close()
        if self._wake is not None:
            for end in self._wake:
                end.close()
            self._wake = None

    def __enter__(self) -> OperationsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        return self._port

    @property
    def connections(self) -> int:
        """How many connections the server has accepted so far (to check keep-alive)."""
        with self._lock:
            return self._accepted

    @property
    def url(self) -> str:
        """The server's origin, ``http://127.0.0.1:<port>``."""
        if self._listener is None:
            raise RuntimeError("the operations server has not started")
        return f"http://{LOOPBACK}:{self._port}"

    def __repr__(self) -> str:
        where = f"http://{LOOPBACK}:{self._port}" if self._listener else "not started"
        return f"<OperationsServer {where}>"

    # Scripting (delegates to the scenarios) -------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order of arrival."""
        return self.scenarios.requests

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self.scenarios.clear_requests()

    @property
    def operations(self) -> list[Operation]:
        """Every operation, in order of creation."""
        return self.scenarios.operations

    add_resource = _delegate(Scenarios.add_resource)
    add_google_operation = _delegate(Scenarios.add_google_operation)
    add_azure_operation = _delegate(Scenarios.add_azure_operation)
    add_cluster = _delegate(Scenarios.add_cluster)
    add_run = _delegate(Scenarios.add_run)
    add_from_json = _delegate(Scenarios.add_from_json)

    # Serving ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        assert self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake[0], selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._listener:
                        self._accept()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # out of file descriptors, aborted handshake: keep listening
            time.sleep(0.01)
            return
        client.setblocking(True)
        client.settimeout(self.idle_timeout)
        # An answer goes out in several writes (head, body, end); with Nagle's algorithm
        # each write after the first waits for the client's delayed ACK, about 40 ms.
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        thread = threading.Thread(
            target=self._serve_client, args=(client,), name="tarry-operations-client", daemon=True
        )
        with self._lock:
            if self._stopping.is_set() or len(self._clients) >= self.max_connections:
                client.close()
                return
            self._clients.add(client)
            self._threads.add(thread)
            self._accepted += 1
        thread.start()

    def _serve_client(self, client: socket.socket) -> None:
        try:
            _Connection(self, client).serve()
        finally:
            with self._lock:
                self._clients.discard(client)
                self._threads.discard(threading.current_thread())
                client.close()


class _Connection:
    """One client connection: read a request, answer it, repeat while kept alive."""

    def __init__(self, server: OperationsServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=server.max_header_bytes)

    def serve(self) -> None:
        try:
            while not self.server._stopping.is_set():
                if not self._serve_one():
                    return
                if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                    return
                self.h11.start_next_cycle()
        except (OSError, h11.LocalProtocolError):
            return  # the client went away, timed out, or the server is stopping

    def _serve_one(self) -> bool:
        """Read and answer one request; False when the connection must end."""
        try:
            request = self._read_request()
        except h11.RemoteProtocolError as exc:
            self._refuse(exc.error_status_hint, f"bad request: {exc}")
            return False
        except _TooLarge:
            self._refuse(413, f"request bodies are limited to {self.server.max_body_bytes} bytes")
            return False
        if request is None:
            return False
        head, body = request
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers]
        method, target = head.method.decode("ascii"), head.target.decode("latin-1")
        try:
            reply = self.server.scenarios.handle(method, target, headers, body)
        except Exception as exc:  # a bug in a scenario: say so, keep serving
            reply = Reply(
                500, (("Content-Type", "text/plain"),), f"scenario error: {exc!r}".encode()
            )
        return self._carry_out(reply, head_only=method == "HEAD")

    def _read_request(self) -> tuple[h11.Request, bytes] | None:
        head: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(_RECV)
                self.h11.receive_data(data)
            elif isinstance(event, h11.Request):
                head = event
                if self.h11.they_are_waiting_for_100_continue:  # curl does, past 1 KiB
                    self._send(h11.InformationalResponse(status_code=100, headers=[]))
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.server.max_body_bytes:
                    raise _TooLarge
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return head, b"".join(chunks)
            else:  # ConnectionClosed, or PAUSED after a protocol switch request
                return None

    def _refuse(self, status: int, message: str) -> None:
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = message.encode()
        with contextlib.suppress(h11.LocalProtocolError, OSError):
            self._send(
                h11.Response(
                    status_code=status,
                    reason=_reason(status),
                    headers=[
                        ("Content-Type", "text/plain"),
                        ("Content-Length", str(len(body))),
                        ("Connection", "close"),
                    ],
                )
            )
            self._send(h11.Data(data=body))
            self._send(h11.EndOfMessage())
        self._drain()

    def _drain(self) -> None:
        """Close our side, then read and discard what the client still sends (briefly).

        Closing a socket with unread input makes the kernel send a reset, which can
        destroy our error answer before the client reads it.
        """
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(_DRAIN_SECONDS)
            deadline = time.monotonic() + _DRAIN_SECONDS
            received = 0
            while time.monotonic() < deadline and received < _DRAIN_BYTES:
                chunk = self.sock.recv(_RECV)
                if not chunk:
                    return
                received += len(chunk)

    def _carry_out(self, reply: Reply, *, head_only: bool) -> bool:
        stopping = self.server._stopping
        if reply.action is Action.DROP:
            return False
        if reply.action is Action.HANG:
            self._hold()
            return False
        if reply.delay and stopping.wait(reply.delay):
            return False
        body = b"" if head_only or reply.status in (204, 304) else reply.body
        headers = list(reply.headers)
        if reply.status not in (204, 304):
            headers.append(("Content-Length", str(len(reply.body))))
        self._send(
            h11.Response(status_code=reply.status, headers=headers, reason=_reason(reply.status))
        )
        if reply.action is Action.RESET:
            self._send(h11.Data(data=body[: len(body) // 2]))
            self._reset()
            return False
        if body:
            self._send(h11.Data(data=body))
        self._send(h11.EndOfMessage())
        return True

    def _hold(self) -> None:
        """Answer nothing until the server stops or the client hangs up."""
        self.sock.settimeout(_HOLD_TICK)
        while not self.server._stopping.is_set():
            try:
                if not self.sock.recv(_RECV):  # anything sent meanwhile is ignored
                    return
            except TimeoutError:
                continue

    def _send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            self.sock.sendall(data)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST instead of an orderly close."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _TooLarge(Exception):
    pass


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""
