"""tarry's Azure convention, sync and async, over every LRO route of Azure's test server.

Each route's expected outcome is in ``azure_routes``; where tarry is known to reach
another one (``azure_recorded.TARRY_DIFFERS``) the test is a strict xfail, so a fix shows,
and another test checks that tarry does exactly what the docs say it does there.
"""

from __future__ import annotations

import pytest

from .azure_recorded import TARRY_DIFFERS
from .azure_routes import ROUTES, Outcome, Route, agrees, by_id
from .azure_tarry_driver import run_async, run_sync


def _cases() -> list[object]:
    cases: list[object] = []
    for route in ROUTES:
        differs = TARRY_DIFFERS.get(route.scenario)
        marks = [pytest.mark.xfail(strict=True, reason=differs[1])] if differs else []
        cases.append(pytest.param(route, id=route.scenario, marks=marks))
    return cases


def _check(route: Route, outcome: Outcome, base_url: str) -> None:
    expected = route.expected_at(base_url)
    assert agrees(expected, outcome), (
        f"{route.method} {route.path}: expected {expected.describe()}, "
        f"got {outcome.describe()}: {outcome.message}"
    )


@pytest.mark.parametrize("route", _cases())
def test_sync_wait_reaches_the_expected_outcome(route: Route, azure_server: str) -> None:
    """azure_operation(...).result() ends this route as a correct Azure poller does."""
    _check(route, run_sync(route, azure_server), azure_server)


@pytest.mark.anyio
@pytest.mark.parametrize("route", _cases())
async def test_async_wait_reaches_the_expected_outcome(route: Route, azure_server: str) -> None:
    """async_azure_operation(...).result() ends this route the same way, on asyncio and trio."""
    _check(route, await run_async(route, azure_server), azure_server)


@pytest.mark.parametrize("scenario", sorted(TARRY_DIFFERS))
def test_known_differences_are_as_documented(scenario: str, azure_server: str) -> None:
    """Where tarry differs, it ends the route exactly as docs/interop-azure.md says."""
    route = by_id(scenario)
    recorded = TARRY_DIFFERS[scenario][0]
    outcome = run_sync(route, azure_server)
    assert agrees(recorded, outcome), f"recorded {recorded.describe()}, got {outcome.describe()}"
