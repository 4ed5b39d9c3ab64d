"""Fixtures of the reliability tests: the embedded server, a second origin, a watchdog."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tarry.testing import OperationsServer

WATCHDOG_SECONDS = 30.0
"""A test still running this long after its server started has hung: the watchdog stops
the server, which releases every hanging answer, so the test fails instead of hanging."""


def _watched(server: OperationsServer) -> threading.Timer:
    timer = threading.Timer(WATCHDOG_SECONDS, server.stop)
    timer.daemon = True
    timer.start()
    return timer


@pytest.fixture
def server() -> Iterator[OperationsServer]:
    """The embedded operations server on 127.0.0.1, with a watchdog."""
    with OperationsServer() as running:
        timer = _watched(running)
        try:
            yield running
        finally:
            timer.cancel()


@pytest.fixture
def other(server: OperationsServer) -> Iterator[OperationsServer]:
    """A second server on another port (another origin) serving ``server``'s operations.

    The request log is shared; ``arrived_at`` picks the requests that reached one origin.
    """
    with OperationsServer(scenarios=server.scenarios) as running:
        yield running
