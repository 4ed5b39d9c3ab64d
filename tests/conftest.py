"""Shared pytest configuration for the tarry test suite."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Let the tests' child processes hear Ctrl-C.

    A shell that starts a command in the background (``nox &`` in a script) starts it
    with SIGINT ignored, and an ignored signal stays ignored across exec: the tests that
    send SIGINT to a child would wait for one that cannot hear it. A handler, unlike
    ``SIG_IGN``, is reset by exec, so installing Python's own here gives every child the
    default again.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test once under asyncio and once under trio."""
    return str(request.param)
