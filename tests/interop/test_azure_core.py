"""azure-core's own pollers over every LRO route of Azure's test server.

They check that azure-core still reaches the outcomes recorded in ``azure_recorded``
(and shown in docs/interop-azure.md): where those differ from the expected outcome, the
table explains why. azure-core's async poller runs on asyncio (its aiohttp transport).
"""

from __future__ import annotations

import asyncio

import pytest

from .azure_server import ENABLED, SKIP_REASON

if not ENABLED:
    pytest.skip(SKIP_REASON, allow_module_level=True)

from .azure_core_driver import CONFIGS, run_async, run_sync
from .azure_recorded import azure_core_outcome
from .azure_routes import ROUTES, Outcome, Route, agrees

CASES = [
    pytest.param(route, config, id=f"{route.scenario}-{config}")
    for route in ROUTES
    for config in CONFIGS
]


def _check(route: Route, config: str, outcome: Outcome, base_url: str) -> None:
    recorded = azure_core_outcome(route, config, base_url)
    assert agrees(recorded, outcome), (
        f"{route.method} {route.path} ({config}): recorded {recorded.describe()}, "
        f"got {outcome.describe()}: {outcome.message}"
    )


@pytest.mark.parametrize(("route", "config"), CASES)
def test_lro_poller_reaches_the_recorded_outcome(
    route: Route, config: str, azure_server: str
) -> None:
    """LROPoller with LROBasePolling ends this route as recorded in the docs."""
    _check(route, config, run_sync(route, azure_server, config), azure_server)


@pytest.mark.parametrize(("route", "config"), CASES)
def test_async_lro_poller_reaches_the_recorded_outcome(
    route: Route, config: str, azure_server: str
) -> None:
    """AsyncLROPoller with AsyncLROBasePolling ends this route as recorded, under asyncio."""
    outcome = asyncio.run(run_async(route, azure_server, config))
    _check(route, config, outcome, azure_server)
