"""``waiter`` and ``async_waiter``: a botocore waiter run by tarry's own ``Wait``.

The only code here that touches a client is the poll function. It calls the operation
once and turns its outcome into something the core understands:

1. a response: returned as the entity, judged by the spec (``spec_for``);
2. an error response that an acceptor names by code or HTTP status: returned as the
   entity too, so a waiter whose success is ``ResourceNotFoundException`` succeeds;
3. a transient error (throttling, 5xx, connection): raised, and the policy's
   ``retry_on`` makes the core back off and ask again within the deadline;
4. any other client error: returned as the entity, where ``error: true`` acceptors may
   still match it and otherwise it fails the wait, as in botocore;
5. any other exception: raised, and the wait ends with it unchanged.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Mapping
from typing import Any, cast

from tarry._async import AsyncClock, AsyncWait
from tarry._backoff import Backoff
from tarry._base import UNSET
from tarry._policy import RetryOn, Timeout
from tarry._sync import Clock, Wait

from ._load import model_for, operation_of
from ._model import WaiterDefinition, WaiterModel
from ._spec import Response, policy_for, spec_for, transient_test
from ._transient import error_response

__all__ = ["async_waiter", "waiter"]


def _claim(
    error: Exception, definition: WaiterDefinition, transient: Callable[[Exception], bool]
) -> Response | None:
    """The error response to judge as an entity, or None to let the error go to the core."""
    response = error_response(error)
    if response is None:
        return None
    if definition.names(response) or not transient(error):
        return dict(response)
    return None


def _definition(
    client: Any, name: str, model: WaiterModel | Mapping[str, Any] | None
) -> WaiterDefinition:
    waiters = model_for(client, model)
    try:
        return waiters[name]
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def waiter(
    client: Any,
    name: str,
    *,
    model: WaiterModel | Mapping[str, Any] | None = None,
    delay: float | None = None,
    timeout: Timeout = UNSET,
    backoff: Backoff | None = None,
    retry_on: RetryOn | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    **params: Any,
) -> Wait[Response]:
    """A ``tarry.Wait`` that runs the botocore waiter ``name`` on ``client``.

    ``client`` is a boto3/botocore client (its service's waiter model is loaded through
    botocore) or any object with the operation's snake_case method, given ``model``.
    ``params`` are the operation's arguments (``InstanceIds=[...]``). ``delay``,
    ``timeout``, ``backoff`` and ``retry_on`` are as in ``policy_for``. The result is
    the last response: the one an acceptor accepted. ``OperationFailed`` and
    ``OperationTimedOut`` carry the last response as ``.entity``. The wait keeps the
    waiter as ``.definition`` and the arguments as ``.params``.
    """
    definition = _definition(client, name, model)
    operation = operation_of(client, definition.operation)
    policy = policy_for(
        definition, delay=delay, timeout=timeout, backoff=backoff, retry_on=retry_on
    )
    transient = transient_test(retry_on)

    def poll() -> Response:
        try:
            return cast(Response, operation(**params))
        except Exception as error:
            claimed = _claim(error, definition, transient)
            if claimed is None:
                raise
            return claimed

    return Wait(
        poll,
        spec_for(definition),
        policy=policy,
        clock=clock,
        rng=rng,
        definition=definition,
        params=params,
    )


def async_waiter(
    client: Any,
    name: str,
    *,
    model: WaiterModel | Mapping[str, Any] | None = None,
    delay: float | None = None,
    timeout: Timeout = UNSET,
    backoff: Backoff | None = None,
    retry_on: RetryOn | None = None,
    clock: AsyncClock | None = None,
    rng: random.Random | None = None,
    **params: Any,
) -> AsyncWait[Response]:
    """The async twin of ``waiter``, for asyncio or trio: the operation is awaited
    (an aiobotocore client, or any method returning an awaitable)."""
    definition = _definition(client, name, model)
    operation = operation_of(client, definition.operation)
    policy = policy_for(
        definition, delay=delay, timeout=timeout, backoff=backoff, retry_on=retry_on
    )
    transient = transient_test(retry_on)

    async def poll() -> Response:
        try:
            reply = operation(**params)
            if inspect.isawaitable(reply):
                reply = await reply
            return cast(Response, reply)
        except Exception as error:
            claimed = _claim(error, definition, transient)
            if claimed is None:
                raise
            return claimed

    return AsyncWait(
        poll,
        spec_for(definition),
        policy=policy,
        clock=clock,
        rng=rng,
        definition=definition,
        params=params,
    )
