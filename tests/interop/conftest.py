"""Fixtures for the interop tests, which run against real servers other people wrote.

They run only in the ``interop`` nox session, which installs those servers and sets
``TARRY_INTEROP=1``; everywhere else they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .aws_moto import MotoServer
from .azure_server import ENABLED, SKIP_REASON, AzureTestServer


@pytest.fixture(scope="session")
def azure_server() -> Iterator[str]:
    """Azure's LRO test server on a free loopback port, for the whole session: its base URL."""
    if not ENABLED:
        pytest.skip(SKIP_REASON)
    with AzureTestServer() as server:
        yield server.base_url


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's AWS server on 127.0.0.1 and a free port, in a thread, for the whole session."""
    if not ENABLED:
        pytest.skip(SKIP_REASON)
    with MotoServer() as server:
        yield server
