"""Planted secrets never reach another origin, and never show in anything tarry produces.

Every wait here carries the same secret, marked ``SECRET-7d1f``, in every place a caller
keeps credentials: the Authorization header, a cookie, an X-Api-Key header, a header
the caller marks sensitive, the client's query parameters, the wait's ``params``
option, and the URL's own user info and query string. Then the whole output is
searched: error messages, ``args``, reprs and formatted tracebacks (with their chained
causes), the wait's and the entities' reprs, tarry's log at DEBUG, the requests a second
origin received, and the command line's stdout and stderr.

httpx's own ``httpx`` logger shows each request's full URL at INFO (tarry.http says so):
URL secrets are looked for in tarry's loggers only; header secrets in every logger.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

import tarry.http as th
from tarry import OperationFailed, OperationTimedOut, TarryError
from tarry.testing import Fault, Operation, OperationsServer, Step

from ._support import AZURE, DATABRICKS, DRIVERS, RESOURCE, Builders, arrived_at, drive

MARK = "SECRET-7d1f"
BEARER = f"Bearer {MARK}-bearer"
COOKIE = f"{MARK}-cookie"
API_KEY = f"{MARK}-apikey"
MARKED = f"{MARK}-marked"  # in X-Customer-Ref, which only the caller knows is sensitive
CLIENT_PARAM = f"{MARK}-clientparam"
OPTION_PARAM = f"{MARK}-optionparam"
PASSWORD = f"{MARK}-password"
SIGNATURE = f"{MARK}-sig"
BASIC = base64.b64encode(f"user:{PASSWORD}".encode()).decode()  # what httpx makes of user info

HEADER_SECRETS = (BEARER, COOKIE, API_KEY, MARKED)
ALL_SECRETS = (MARK, BASIC)

CLIENT: dict[str, Any] = {
    "headers": {"Authorization": BEARER, "X-Api-Key": API_KEY, "X-Customer-Ref": MARKED},
    "cookies": {"session": COOKIE},
    "params": {"key": CLIENT_PARAM},
}
OPTIONS: dict[str, Any] = {
    "sensitive_headers": ["X-Customer-Ref"],
    "params": {"sig2": OPTION_PARAM},
}


def planted(url: str) -> str:
    """``url`` with a password in its user info and a signature in its query string."""
    with_user = url.replace("http://", f"http://user:{PASSWORD}@", 1)
    joiner = "&" if "?" in url else "?"
    return f"{with_user}{joiner}sig={SIGNATURE}"


def _texts_of_error(error: BaseException | None, seen: set[int] | None = None) -> Iterator[str]:
    """Everything an error shows: str, repr, args, traceback, its causes, and for tarry's
    errors every attribute."""
    if error is None:
        return
    seen = set() if seen is None else seen
    if id(error) in seen:
        return
    seen.add(id(error))
    yield str(error)
    yield repr(error)
    yield from (repr(arg) for arg in error.args)
    yield "".join(traceback.format_exception(error))
    if not isinstance(error, TarryError):  # httpx's own errors: message and args only
        return
    for name, value in vars(error).items():
        if name in ("entity",):
            yield repr(value)
        elif isinstance(value, BaseException):
            yield from _texts_of_error(value, seen)
        else:
            yield f"{name}={value!r}"
    yield from _texts_of_error(error.__cause__, seen)
    yield from _texts_of_error(error.__context__, seen)


@dataclass
class Produced:
    """Everything one wait produced that a person (or a log collector) could see."""

    texts: list[str] = field(default_factory=list)
    logs_tarry: list[str] = field(default_factory=list)
    logs_all: list[str] = field(default_factory=list)

    def check(self) -> None:
        for secret in ALL_SECRETS:
            for text in self.texts + self.logs_tarry:
                assert secret not in text, f"{secret} shown in: {text[:300]}"
        for secret in HEADER_SECRETS:
            for text in self.logs_all:
                assert secret not in text, f"{secret} logged: {text[:300]}"


def run_planted(
    caplog: pytest.LogCaptureFixture,
    driver: str,
    builders: Builders,
    url: str,
    *,
    start: str | None = None,
    timeout: float = 3.0,
    **options: Any,
) -> tuple[Any, Produced]:
    """Run one wait carrying every secret and gather what it produced."""
    seen: list[Any] = []
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        outcome = drive(
            driver,
            builders,
            planted(url),
            start=start,
            timeout=timeout,
            callback=seen.append,
            client_options=CLIENT,
            **{**OPTIONS, **options},
        )
    produced = Produced()
    produced.texts += [repr(entity) for entity in seen]
    produced.texts.append(repr(outcome.entity))
    produced.texts += list(_texts_of_error(outcome.error))
    for record in caplog.records:
        line = f"{record.name} {record.getMessage()}"
        produced.logs_all.append(line)
        if record.name.startswith("tarry"):
            produced.logs_tarry.append(line)
    assert produced.logs_tarry, "tarry logged nothing at DEBUG"
    return outcome, produced


def _abroad_is_clean(other: OperationsServer) -> None:
    """No secret in anything the other origin received (headers and targets)."""
    for request in arrived_at(other):
        shown = request.target + " " + repr(request.headers)
        for secret in ALL_SECRETS:
            assert secret not in shown, f"{secret} reached {other.url}: {shown[:300]}"


EACH_DRIVER = pytest.mark.parametrize("driver", DRIVERS)


def _resource(server: OperationsServer, steps: list[Step], faults: list[Fault]) -> Operation:
    return server.add_resource(steps, faults=faults)


HOME_CASES = {
    "success-after-503": ([Step("PENDING"), Step("RUNNING", poll=3)], [Fault.status(503, on=1)]),
    "failure": ([Step("PENDING"), Step("FAILED", poll=2, message="disk full")], []),
    "timeout-503-storm": ([Step("PENDING")], [Fault.status(503)]),
    "timeout-hang": ([Step("PENDING")], [Fault.hang(on=2)]),
    "reset": ([Step("PENDING")], [Fault.reset()]),
    "not-found": ([Step("PENDING")], [Fault.status(404, on=2)]),
    "truncated": ([Step("PENDING")], [Fault.truncated(on=2)]),
}
EXPECTED: dict[str, type[BaseException] | None] = {
    "success-after-503": None,
    "failure": OperationFailed,
    "timeout-503-storm": OperationTimedOut,
    "timeout-hang": OperationTimedOut,
    "reset": OperationTimedOut,
    "not-found": th.HttpStatusError,
    "truncated": th.MalformedResponse,
}


@EACH_DRIVER
@pytest.mark.parametrize("case", list(HOME_CASES))
def test_no_secret_in_anything_produced(
    server: OperationsServer, caplog: pytest.LogCaptureFixture, driver: str, case: str
) -> None:
    """Success, failure, timeouts, refusals and broken bodies: no planted secret shows in
    messages, args, reprs, tracebacks or tarry's log; the home origin got them all."""
    steps, faults = HOME_CASES[case]
    op = _resource(server, steps, faults)
    expected = EXPECTED[case]
    timeout = 0.3 if expected is OperationTimedOut else 3.0
    outcome, produced = run_planted(
        caplog, driver, RESOURCE, op.url, timeout=timeout, state="state", message="message",
        success={"RUNNING"}, failure={"FAILED"},
    )  # fmt: skip
    if expected is None:
        outcome.succeeded()
    else:
        outcome.raised(expected)
    produced.check()
    first = op.requests[0]
    assert first.header("authorization") == f"Basic {BASIC}"  # user info wins over headers
    assert first.header("x-api-key") == API_KEY
    assert SIGNATURE in first.target  # the URL's own query, kept beside the params
    assert CLIENT_PARAM in first.target


@EACH_DRIVER
@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed"])
def test_polling_url_abroad_gets_no_secret(
    server: OperationsServer,
    other: OperationsServer,
    caplog: pytest.LogCaptureFixture,
    driver: str,
    allowed: bool,
) -> None:
    """An Azure monitor that moves to another origin: refused (that origin receives
    nothing) or, when allowed, polled there without any header or query secret."""
    op = server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", poll=3)],
        method="PUT",
        faults=[Fault.foreign(other.url, on=1, role="status")],
    )
    options: dict[str, Any] = {"allowed_origins": [other.url]} if allowed else {}
    outcome, produced = run_planted(caplog, driver, AZURE, op.url, start="PUT", **options)
    produced.check()
    if allowed:
        assert outcome.succeeded().final
        assert arrived_at(other)
        _abroad_is_clean(other)
    else:
        outcome.raised(th.ForeignOriginRefused)
        assert not arrived_at(other)


@EACH_DRIVER
@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed"])
def test_redirect_abroad_gets_no_secret(
    server: OperationsServer,
    other: OperationsServer,
    caplog: pytest.LogCaptureFixture,
    driver: str,
    allowed: bool,
) -> None:
    """A poll redirected to another origin: refused, or followed without any secret."""
    op = server.add_cluster(
        [Step("PENDING"), Step("RUNNING", poll=3)],
        faults=[Fault.redirect(307, origin=other.url, on=2)],
    )
    options: dict[str, Any] = {"allowed_origins": [other.url]} if allowed else {}
    outcome, produced = run_planted(
        caplog, driver, DATABRICKS, op.url, success={"RUNNING"}, **options
    )
    produced.check()
    if allowed:
        assert outcome.succeeded().state == "RUNNING"
        assert arrived_at(other)
        _abroad_is_clean(other)
    else:
        outcome.raised(th.ForeignOriginRefused)
        assert not arrived_at(other)


@EACH_DRIVER
def test_wait_repr_shows_no_secret(server: OperationsServer, driver: str) -> None:
    """A wait's repr names the operation and its bound values, never the client's or the
    URL's secrets."""
    op = server.add_resource()
    url = planted(op.url)
    waits: list[Any] = []
    if driver == "sync":
        with httpx.Client(**CLIENT) as client:
            waits.append(
                th.resource_wait(client, url, state="state", success={"RUNNING"}, **OPTIONS)
            )
    else:

        async def build() -> None:
            async with httpx.AsyncClient(**CLIENT) as client:
                waits.append(
                    th.async_resource_wait(
                        client, url, state="state", success={"RUNNING"}, **OPTIONS
                    )
                )

        anyio.run(build, backend=driver)
    for secret in ALL_SECRETS:
        assert secret not in repr(waits[0])
        assert secret not in repr(waits[0].spec)


# -- the command line --------------------------------------------------------------------


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tarry", "wait", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_cli_output_shows_no_secret(server: OperationsServer, other: OperationsServer) -> None:
    """``tarry wait`` with secrets in headers, params and the URL, in every ending
    (success, failure, timeout, a broken body, a refused and an allowed foreign origin,
    with and without --json): no secret on stdout or stderr, none reaches the other
    origin."""
    secrets = [
        "-H", f"Authorization: {BEARER}",
        "-H", f"X-Api-Key: {API_KEY}",
        "-H", f"Cookie: session={COOKIE}",
        "-H", f"X-Customer-Ref: {MARKED}",
        "--param", f"key={CLIENT_PARAM}",
    ]  # fmt: skip
    fast = ["--backoff", "constant", "--interval", "0.05"]
    resource = ["--state", "state", "--message", "message", "--success", "RUNNING"]
    resource += ["--failure", "FAILED"]
    cases: dict[str, tuple[list[str], int]] = {}

    def add(name: str, op: Operation, extra: list[str], code: int) -> None:
        cases[name] = ([planted(op.url), *extra, *secrets, *fast], code)

    steps = [Step("PENDING"), Step("RUNNING", poll=3)]
    add("success", server.add_resource(steps, faults=[Fault.status(503, on=1)]), resource, 0)
    failed = [Step("PENDING"), Step("FAILED", poll=2, message="disk full")]
    add("failure", server.add_resource(failed), [*resource, "--json"], 1)
    storm = server.add_resource([Step("PENDING")], faults=[Fault.status(503)])
    add("timeout", storm, [*resource, "--timeout", "0.5"], 124)
    broken = server.add_resource([Step("PENDING")], faults=[Fault.truncated(on=2)])
    add("truncated", broken, [*resource, "--json"], 2)
    abroad = server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", poll=3)],
        method="PUT",
        faults=[Fault.foreign(other.url, on=1, role="status")],
    )
    azure = ["--convention", "azure", "--method", "PUT"]
    add("foreign-refused", abroad, azure, 2)
    allowed = server.add_azure_operation(
        [Step("InProgress"), Step("Succeeded", poll=3)],
        method="PUT",
        faults=[Fault.foreign(other.url, on=1, role="status")],
    )
    add("foreign-allowed", allowed, [*azure, "--allow-origin", other.url], 0)

    with ThreadPoolExecutor(len(cases)) as pool:
        results = dict(
            zip(cases, pool.map(lambda case: _cli(case[0]), cases.values()), strict=True)
        )
    for name, result in results.items():
        expected_code = cases[name][1]
        assert result.returncode == expected_code, (name, result.stderr)
        for secret in ALL_SECRETS:
            assert secret not in result.stdout, (name, result.stdout[:300])
            assert secret not in result.stderr, (name, result.stderr[:300])
        assert "Traceback" not in result.stderr, (name, result.stderr)
    assert json.loads(results["success"].stdout)["state"] == "RUNNING"
    assert arrived_at(other)  # the allowed case went there
    _abroad_is_clean(other)
