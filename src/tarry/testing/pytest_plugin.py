"""The ``operations_server`` pytest fixture, registered through the ``pytest11`` entry point.

Installing tarry makes the fixture available in every test suite, with no conftest
line. This module imports nothing from h11 when pytest loads it: a suite that never
asks for the fixture runs without the http extra, and one that does gets a clear error
telling it to install ``tarry[http]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import OperationsServer

__all__ = ["operations_server"]


@pytest.fixture
def operations_server() -> Iterator[OperationsServer]:
    """A running ``tarry.testing.OperationsServer`` on 127.0.0.1, stopped after the test.

    Script operations with its ``add_*`` methods and poll their ``url`` with any HTTP
    client; ``operations_server.requests`` records what the server received.
    """
    from . import HTTP_EXTRA_HINT

    try:
        from ._server import OperationsServer
    except ModuleNotFoundError as exc:
        if exc.name != "h11":
            raise
        raise ModuleNotFoundError(HTTP_EXTRA_HINT, name="h11") from exc
    with OperationsServer() as server:
        yield server
