"""boto3's waiter and tarry's, built from the same botocore model, on twin resources.

Each scenario creates two identical resources on one moto server at the same moment,
then runs boto3's ``client.get_waiter(name).wait(...)`` on one and
``tarry.aws.waiter(client, name, ...).result()`` on the other, in two threads at once.
Both get the same delay; boto3 gets ``MaxAttempts`` and tarry the matching time budget,
``delay * MaxAttempts`` (which is tarry's default with the model's own numbers). Each
side counts its polls (calls of the waiter's operation, through botocore's events) and
the time from its start to its end.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tarry
import tarry.aws

from .aws_moto import Calls, MotoServer, count_calls
from .aws_scenarios import Scenario, throttle

__all__ = ["Run", "run_async_pair", "run_pair"]


@dataclass(frozen=True)
class Run:
    """How one waiter ended: its outcome, its polls, its time and the acceptor it matched."""

    outcome: str
    polls: int
    seconds: float
    matched: int | None
    detail: str


def _boto3_wait(client: Any, scenario: Scenario, params: dict[str, Any], calls: Calls) -> Run:
    from botocore.exceptions import WaiterError

    waiter = client.get_waiter(scenario.waiter)
    config = {"Delay": scenario.delay, "MaxAttempts": scenario.max_attempts}
    calls.start()
    began = time.monotonic()
    try:
        waiter.wait(**params, WaiterConfig=config)
        outcome, detail = "success", ""
    except WaiterError as error:
        reason = str(error.kwargs.get("reason", ""))
        outcome = "timeout" if "Max attempts exceeded" in reason else "failure"
        detail = str(error)
    return _finish(outcome, detail, began, calls, scenario, client)


def _tarry_wait(client: Any, scenario: Scenario, params: dict[str, Any], calls: Calls) -> Run:
    wait = tarry.aws.waiter(
        client, scenario.waiter, delay=scenario.delay, timeout=scenario.budget, **params
    )
    calls.start()
    began = time.monotonic()
    try:
        wait.result()
        outcome, detail = "success", ""
    except tarry.OperationFailed as error:
        outcome, detail = "failure", str(error)
    except tarry.OperationTimedOut as error:
        outcome, detail = "timeout", str(error)
    return _finish(outcome, detail, began, calls, scenario, client)


def _finish(
    outcome: str, detail: str, began: float, calls: Calls, scenario: Scenario, client: Any
) -> Run:
    seconds = time.monotonic() - began
    definition = tarry.aws.model_for(client)[scenario.waiter]
    matched = None if calls.last is None else definition.match(calls.last)
    return Run(outcome, calls.count, seconds, matched, detail)


Side = tuple[Any, dict[str, Any], Calls]
"""A client, the waiter's arguments for its own resource, and the count of its polls."""


def _side(server: MotoServer, scenario: Scenario, suffix: str) -> Side:
    config = (
        {} if scenario.retries is None else {"retries": {"total_max_attempts": scenario.retries}}
    )
    client = server.client(scenario.service, **config)
    operation = tarry.aws.model_for(client)[scenario.waiter].operation
    params = scenario.setup(client, suffix)
    if scenario.throttle_every:
        throttle(client, operation, scenario.throttle_every)
    return client, params, count_calls(client, operation)


def run_pair(server: MotoServer, scenario: Scenario, tarry_first: bool) -> tuple[Run, Run]:
    """boto3's waiter and tarry's on twin resources, at the same time: (boto3, tarry).

    ``tarry_first`` creates tarry's resource (and starts its thread) first; alternating
    it between runs keeps either side from always getting the head start.
    """
    for model in scenario.transitions:
        server.set_transition(model, scenario.seconds)
    suffix = uuid.uuid4().hex[:10]
    if tarry_first:
        ours, our_params, our_calls = _side(server, scenario, "t" + suffix)
        theirs, their_params, their_calls = _side(server, scenario, "b" + suffix)
    else:
        theirs, their_params, their_calls = _side(server, scenario, "b" + suffix)
        ours, our_params, our_calls = _side(server, scenario, "t" + suffix)
    results: dict[str, Run] = {}
    failures: list[BaseException] = []

    def run(key: str, job: Callable[[], Run]) -> None:
        try:
            results[key] = job()
        except BaseException as error:  # surfaced in the test below
            failures.append(error)

    threads = [
        threading.Thread(
            target=run,
            args=("boto3", lambda: _boto3_wait(theirs, scenario, their_params, their_calls)),
        ),
        threading.Thread(
            target=run,
            args=("tarry", lambda: _tarry_wait(ours, scenario, our_params, our_calls)),
        ),
    ]
    if tarry_first:
        threads.reverse()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    return results["boto3"], results["tarry"]


async def run_async_pair(
    server: MotoServer, scenario: Scenario, tarry_first: bool
) -> tuple[Run, Run]:
    """aiobotocore's own waiter and ``tarry.aws.async_waiter`` side by side under asyncio.

    The resources are created with boto3 (setup is not what is compared); the waits
    use aiobotocore clients.
    """
    from aiobotocore.session import get_session
    from botocore.exceptions import WaiterError

    for model in scenario.transitions:
        server.set_transition(model, scenario.seconds)
    maker = server.client(scenario.service)
    suffix = uuid.uuid4().hex[:10]
    if tarry_first:
        our_params = scenario.setup(maker, "u" + suffix)
        their_params = scenario.setup(maker, "a" + suffix)
    else:
        their_params = scenario.setup(maker, "a" + suffix)
        our_params = scenario.setup(maker, "u" + suffix)
    definition = tarry.aws.model_for(maker)[scenario.waiter]
    session = get_session()
    options = server.async_session_kwargs()
    async with (
        session.create_client(scenario.service, **options) as theirs,
        session.create_client(scenario.service, **options) as ours,
    ):
        their_calls = count_calls(theirs, definition.operation)
        our_calls = count_calls(ours, definition.operation)

        async def boto() -> Run:
            waiter = theirs.get_waiter(scenario.waiter)
            config = {"Delay": scenario.delay, "MaxAttempts": scenario.max_attempts}
            their_calls.start()
            began = time.monotonic()
            try:
                await waiter.wait(**their_params, WaiterConfig=config)
                outcome, detail = "success", ""
            except WaiterError as error:
                reason = str(error.kwargs.get("reason", ""))
                outcome = "timeout" if "Max attempts exceeded" in reason else "failure"
                detail = str(error)
            return _finish(outcome, detail, began, their_calls, scenario, maker)

        async def ours_() -> Run:
            wait = tarry.aws.async_waiter(
                ours, scenario.waiter, delay=scenario.delay, timeout=scenario.budget, **our_params
            )
            our_calls.start()
            began = time.monotonic()
            try:
                await wait.result()
                outcome, detail = "success", ""
            except tarry.OperationFailed as error:
                outcome, detail = "failure", str(error)
            except tarry.OperationTimedOut as error:
                outcome, detail = "timeout", str(error)
            return _finish(outcome, detail, began, our_calls, scenario, maker)

        if tarry_first:
            tarry_run, boto3_run = await asyncio.gather(ours_(), boto())
        else:
            boto3_run, tarry_run = await asyncio.gather(boto(), ours_())
    return boto3_run, tarry_run
