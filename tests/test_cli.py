"""The ``tarry`` command line, run as a subprocess against the embedded operations server.

Each ``tarry wait`` here is a real process (``python -m tarry``) polling a real socket on
127.0.0.1, so exit codes, the stdout/stderr split and what reaches the server are what a
shell script would see. Timelines advance by poll number, not by time, so a slow process
start cannot change an outcome; backoff is shortened with ``--interval``.
``tarry demo`` runs once, in ``tests/test_readme.py``.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarry._progress import Progress, json_text, printable
from tarry.testing import Fault, OperationsServer, Step

FAST = ("--interval", "0.05", "--max-interval", "0.2")
TOKEN = "SECRET-TOKEN-7d1c9a"
SIGNATURE = "SECRET-SIG-3f8e2b"
ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def tarry(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``python -m tarry ARGS``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "tarry", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=ENV,
    )


def strict_json(text: str) -> Any:
    """``text`` as JSON, refusing NaN and Infinity as a strict consumer (jq) would."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout


@pytest.fixture
def server() -> Iterator[OperationsServer]:
    with OperationsServer() as running:
        yield running


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def resource_args(url: str, *more: str) -> list[str]:
    return [
        "wait",
        url,
        "--state",
        "state",
        "--message",
        "message",
        "--success",
        "READY",
        "--failure",
        "FAILED",
        *FAST,
        *more,
    ]


# -- outcomes and exit codes --------------------------------------------------------------


def test_success_prints_the_entity_on_stdout_and_progress_on_stderr(
    server: OperationsServer,
) -> None:
    """Exit 0: stdout is exactly the final entity as JSON; the progress is on stderr."""
    op = server.add_resource(
        [Step("PENDING", message="warming up"), Step("READY", poll=3, message="done")]
    )
    done = tarry(*resource_args(op.url))
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout) == {"id": op.id, "state": "READY", "message": "done"}
    assert "PENDING: warming up" in done.stderr
    assert "tarry wait: succeeded" in done.stderr
    assert op.polls == 3
    no_traceback(done)


def test_failure_exits_1_with_the_message_on_stderr(server: OperationsServer) -> None:
    """Exit 1: the server's message goes to stderr, the failed entity to stdout."""
    op = server.add_resource([Step("PENDING"), Step("FAILED", poll=2, message="disk full")])
    done = tarry(*resource_args(op.url))
    assert done.returncode == 1, done.stderr
    assert "disk full" in done.stderr.splitlines()[-1]
    assert strict_json(done.stdout)["state"] == "FAILED"
    no_traceback(done)


def test_timeout_exits_124_and_prints_the_last_state(server: OperationsServer) -> None:
    """Exit 124 after --timeout; the last state seen is still printed as JSON."""
    op = server.add_resource([Step("PENDING", message="still going")])
    done = tarry(*resource_args(op.url, "--timeout", "0.5"))
    assert done.returncode == 124, done.stderr
    assert "timed out" in done.stderr.splitlines()[-1]
    assert strict_json(done.stdout)["state"] == "PENDING"
    assert op.polls >= 2  # polls, then a final poll at the deadline
    no_traceback(done)


def test_timeout_zero_polls_exactly_once(server: OperationsServer) -> None:
    """--timeout 0 (as the help says) makes one poll, then times out."""
    op = server.add_resource([Step("PENDING")])
    done = tarry(*resource_args(op.url, "--timeout", "0"))
    assert done.returncode == 124, done.stderr
    assert op.polls == 1


R = ["--state", "s", "--success", "A"]
"""The least a resource wait needs."""

USAGE_ERRORS = {
    "missing-state": (["--success", "READY"], "needs --state"),
    "missing-success": (["--state", "s"], "needs at least one --success"),
    "header-no-colon": ([*R, "-H", "NoColonHere"], "Name: value"),
    "header-bad-name": ([*R, "-H", "Bad Name: x"], "Name: value"),
    "header-crlf": ([*R, "-H", "X-A: b\r\nX-B: c"], "printable ASCII"),
    "header-content-length": ([*R, "-H", "Content-Length: 5"], "set by the HTTP client"),
    "header-transfer-encoding": ([*R, "-H", "Transfer-Encoding: chunked"], "set by the HTTP"),
    "header-non-ascii": ([*R, "-H", "X-A: caf\u00e9"], "printable ASCII"),
    "bad-data": ([*R, "--method", "POST", "--data", "{nope"], "not valid JSON"),
    "data-nan": ([*R, "--method", "POST", "--data", "NaN"], "not valid JSON"),
    "data-file": ([*R, "--method", "POST", "--data", "@/no/such.json"], "cannot read --data"),
    "data-on-get": ([*R, "--data", "{}"], "give --method"),
    "azure-without-method": (["--convention", "azure"], "give --method"),
    "unknown-convention": (["--convention", "gcp"], "invalid choice"),
    "google-with-state": (["--convention", "google", "--state", "s"], "reads states itself"),
    "final-state-via": (
        ["--convention", "google", "--final-state-via", "location"],
        "for the azure convention",
    ),
    "poll-url": (["--convention", "google", "--poll-url", "http://127.0.0.1:1/"], "--poll-url"),
    "negative-timeout": ([*R, "--timeout", "-1"], "--timeout must be"),
    "infinite-timeout": ([*R, "--timeout", "inf"], "--timeout must be"),
    "nan-interval": ([*R, "--interval", "nan"], "--interval must be"),
    "timeout-not-a-number": ([*R, "--timeout", "soon"], "invalid float"),
    "param": ([*R, "--param", "api-version"], "NAME=VALUE"),
    "bad-state-path": (["--state", "s..t", "--success", "A"], "path"),
    "bad-origin": ([*R, "--allow-origin", "nowhere"], "--allow-origin must be"),
    "bad-origin-azure": (
        ["--convention", "azure", "--method", "PUT", "--allow-origin", "nowhere"],
        "--allow-origin must be",
    ),
    "bad-state-path-post": (
        ["--state", "a..b", "--success", "A", "--method", "POST"],
        "path",
    ),
    "bad-final-state-via": (
        ["--convention", "azure", "--method", "PUT", "--final-state-via", "nowhere"],
        "invalid choice",
    ),
}


@pytest.mark.parametrize(("args", "expected"), USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_usage_errors_exit_2_before_any_request(
    server: OperationsServer, args: list[str], expected: str
) -> None:
    """Each usage error exits 2 with a one-line reason, and sends nothing to the server."""
    op = server.add_resource([Step("PENDING")])
    done = tarry("wait", op.url, *args)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert done.stdout == ""
    assert server.requests == []
    no_traceback(done)


def test_final_state_via_choices_are_the_http_layers() -> None:
    """--final-state-via offers exactly the values tarry.http accepts."""
    from tarry._cli import FINAL_STATE_VIA
    from tarry.http import FINAL_STATE_VIA as ACCEPTED

    assert set(FINAL_STATE_VIA) == ACCEPTED


@pytest.mark.parametrize(
    "url",
    ["not-a-url", "ftp://127.0.0.1/x", "http://[::1", "http://127.0.0.1:99999/x", "http:///x"],
)
def test_unusable_urls_are_usage_errors(url: str) -> None:
    """A URL that is not absolute http(s), or cannot be parsed, is exit 2 with no traceback."""
    for convention in (["--state", "s", "--success", "A"], ["--convention", "google"]):
        done = tarry("wait", url, *convention)
        assert done.returncode == 2, done.stderr
        assert "must be an absolute http:// or https:// URL" in done.stderr
        no_traceback(done)


def test_missing_command_and_unknown_option_are_usage_errors() -> None:
    """argparse's own errors exit 2 too."""
    assert tarry().returncode == 2
    assert tarry("wait", "http://127.0.0.1:1/", "--frobnicate").returncode == 2


# -- HTTP errors --------------------------------------------------------------------------


def test_404_on_a_poll_exits_2(server: OperationsServer) -> None:
    """A 404 is not retried: exit 2, naming the status."""
    done = tarry(*resource_args(server.url + "/resources/nobody"))
    assert done.returncode == 2, done.stderr
    assert "404" in done.stderr
    assert done.stdout == ""
    no_traceback(done)


@pytest.mark.parametrize("convention", ["resource", "google"])
def test_connection_refused_exits_2_at_once(convention: str) -> None:
    """A closed port is an error at once (exit 2), not retried for the default 20 minutes."""
    url = f"http://127.0.0.1:{closed_port()}/resources/x"
    args = (
        resource_args(url) if convention == "resource" else ["wait", url, "--convention", "google"]
    )
    done = tarry(*args, timeout=20)
    assert done.returncode == 2, done.stderr
    assert "ConnectError" in done.stderr
    no_traceback(done)


def test_connection_errors_after_an_answer_are_retried(server: OperationsServer) -> None:
    """Once the server has answered, a dropped connection is retried like a 503."""
    op = server.add_resource([Step("PENDING"), Step("READY", poll=4)], faults=[Fault.drop(on=2)])
    done = tarry(*resource_args(op.url))
    assert done.returncode == 0, done.stderr
    assert op.polls == 4


def test_malformed_json_exits_2(server: OperationsServer) -> None:
    """A body that is not JSON ends the wait with exit 2 and names the problem."""
    op = server.add_resource([Step("PENDING")], faults=[Fault.malformed(on=2)])
    done = tarry(*resource_args(op.url))
    assert done.returncode == 2, done.stderr
    assert "not JSON" in done.stderr
    no_traceback(done)


def test_polling_url_on_another_origin_is_refused(server: OperationsServer) -> None:
    """An Azure operation whose status monitor is on another origin: exit 2, not followed."""
    with OperationsServer(scenarios=server.scenarios) as other:
        op = server.add_azure_operation(polling_origin=other.url)
        done = tarry("wait", op.url, "--convention", "azure", "--method", "PUT", *FAST)
        assert done.returncode == 2, done.stderr
        assert "origin" in done.stderr
        assert [r.method for r in server.requests] == ["PUT"]
        no_traceback(done)


def test_allowed_origin_is_followed_without_credentials(server: OperationsServer) -> None:
    """--allow-origin follows the other origin, and the -H headers never go there."""
    with OperationsServer(scenarios=server.scenarios) as other:
        op = server.add_azure_operation(
            [Step("InProgress"), Step("Succeeded", poll=2)], polling_origin=other.url
        )
        done = tarry(
            "wait", op.url, "--convention", "azure", "--method", "PUT",
            "--allow-origin", other.url, "-H", f"Authorization: Bearer {TOKEN}",
            "-H", "X-Team: blue", *FAST,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        put = server.requests[0]
        assert ("authorization", f"Bearer {TOKEN}") in put.headers
        elsewhere = [
            r for r in server.requests if ("host", other.url.removeprefix("http://")) in r.headers
        ]
        assert len(elsewhere) >= 2  # the status monitor, polled on the other origin
        for request in elsewhere:
            names = {name for name, _ in request.headers}
            assert "authorization" not in names
            assert "x-team" not in names


# -- conventions --------------------------------------------------------------------------


def test_databricks_cluster_reaches_running(server: OperationsServer) -> None:
    """--convention databricks reads state and state_message of a cluster."""
    op = server.add_cluster([Step("PENDING", message="finding instances"), Step("RUNNING", poll=3)])
    done = tarry(
        "wait", op.url, "--convention", "databricks",
        "--success", "RUNNING", "--failure", "ERROR", *FAST,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout)["state"] == "RUNNING"
    assert "PENDING: finding instances" in done.stderr


def test_databricks_run_failure_exits_1(server: OperationsServer) -> None:
    """A run TERMINATED with result_state FAILED is a failure, with its message."""
    op = server.add_run(
        [Step("PENDING"), Step("TERMINATED", poll=2, result="FAILED", message="table not found")]
    )
    done = tarry("wait", op.url, "--convention", "databricks", "--success", "TERMINATED", *FAST)
    assert done.returncode == 1, done.stderr
    assert "table not found" in done.stderr
    assert strict_json(done.stdout)["state"]["result_state"] == "FAILED"


def test_google_operation_succeeds_with_its_response(server: OperationsServer) -> None:
    """--convention google GETs the operation URL and prints the done operation."""
    op = server.add_google_operation(
        [Step("RUNNING"), Step("SUCCEEDED", poll=3)], response={"name": "instances/x"}
    )
    done = tarry("wait", op.url, "--convention", "google", *FAST)
    assert done.returncode == 0, done.stderr
    result = strict_json(done.stdout)
    assert result["done"] is True
    assert result["response"] == {"name": "instances/x"}


def test_google_operation_error_exits_1(server: OperationsServer) -> None:
    """A done operation with an error exits 1 with the error's message."""
    op = server.add_google_operation(
        [Step("RUNNING"), Step("FAILED", poll=2, code=8, message="quota exhausted")]
    )
    done = tarry("wait", op.url, "--convention", "google", *FAST)
    assert done.returncode == 1, done.stderr
    assert "quota exhausted" in done.stderr
    assert strict_json(done.stdout)["error"]["message"] == "quota exhausted"


@pytest.mark.parametrize("from_file", [False, True], ids=["inline", "file"])
def test_azure_put_sends_the_data_and_waits(
    server: OperationsServer, tmp_path: Path, from_file: bool
) -> None:
    """--convention azure --method PUT --data sends the body, then follows the operation."""
    op = server.add_azure_operation([Step("InProgress"), Step("Succeeded", poll=3)])
    data = {"location": "westeurope", "tags": {"team": "blue"}}
    source = json.dumps(data)
    if from_file:
        path = tmp_path / "body.json"
        path.write_text(source, encoding="utf-8")
        source = f"@{path}"
    done = tarry(
        "wait", op.url, "--convention", "azure", "--method", "put", "--data", source, *FAST
    )
    assert done.returncode == 0, done.stderr
    first = server.requests[0]
    assert first.method == "PUT"
    assert json.loads(first.body) == data
    assert strict_json(done.stdout)["properties"]["provisioningState"] == "Succeeded"


def test_post_then_poll_url(server: OperationsServer) -> None:
    """--method POST creates the resource, then --poll-url is polled."""
    script = {"id": "db-1", "timeline": [{"state": "CREATING"}, {"state": "READY", "poll": 2}]}
    done = tarry(
        "wait", server.url + "/resources", "--method", "POST",
        "--data", json.dumps({"tarry": script}),
        "--poll-url", server.url + "/resources/db-1",
        "--state", "state", "--success", "READY", *FAST,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [(r.method, r.path) for r in server.requests][:2] == [
        ("POST", "/resources"),
        ("GET", "/resources/db-1"),
    ]


def test_headers_and_params_reach_every_request(server: OperationsServer) -> None:
    """-H headers and --param query parameters are on every poll."""
    op = server.add_resource([Step("PENDING"), Step("READY", poll=2)])
    headers = ["-H", "X-Request-Id: abc-123", "-H", f"Authorization: Bearer {TOKEN}"]
    done = tarry(*resource_args(op.url, *headers, "--param", "api-version=2024-01-01"))
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == 2
    for request in server.requests:
        assert ("x-request-id", "abc-123") in request.headers
        assert ("authorization", f"Bearer {TOKEN}") in request.headers
        assert request.query["api-version"] == ["2024-01-01"]


# -- secrets ------------------------------------------------------------------------------


def _secret_case(server: OperationsServer, case: str) -> list[str]:
    """The arguments of a run ending in ``case``, with a token and a signature planted."""
    auth = ["-H", f"Authorization: Bearer {TOKEN}", "-H", f"X-Api-Key: {TOKEN}-key"]
    if case == "refused":
        url = f"http://127.0.0.1:{closed_port()}/resources/x?sig={SIGNATURE}"
        return [*resource_args(url), *auth]
    if case == "foreign":
        azure = server.add_azure_operation(polling_origin="http://127.0.0.2:9")
        return ["wait", f"{azure.url}?sig={SIGNATURE}", "--convention", "azure",
                "--method", "PUT", *FAST, *auth]  # fmt: skip
    if case == "404":
        return [*resource_args(f"{server.url}/resources/none?sig={SIGNATURE}"), *auth]
    if case == "bad-header":
        return [*resource_args(f"{server.url}/resources/x?sig={SIGNATURE}"),
                "-H", f"Authorization Bearer {TOKEN}"]  # fmt: skip
    timelines = {
        "success": [Step("PENDING"), Step("READY", poll=2)],
        "failure": [Step("PENDING"), Step("FAILED", poll=2, message="denied")],
        "timeout": [Step("PENDING")],
        "malformed": [Step("PENDING")],
    }
    faults = [Fault.malformed(on=2)] if case == "malformed" else []
    op = server.add_resource(timelines[case], faults=faults)
    more = ["--timeout", "0.4"] if case == "timeout" else []
    return [*resource_args(f"{op.url}?sig={SIGNATURE}"), *auth, *more]


@pytest.mark.parametrize(
    "case",
    ["success", "failure", "timeout", "malformed", "404", "refused", "foreign", "bad-header"],
)
@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["text", "json"])
def test_secrets_never_appear_in_the_output(
    server: OperationsServer, case: str, mode: list[str]
) -> None:
    """A bearer token, an API key and a URL signature never reach stdout or stderr."""
    done = tarry(*_secret_case(server, case), *mode)
    assert done.returncode in (0, 1, 2, 124)
    for secret in (TOKEN, SIGNATURE):
        assert secret not in done.stdout
        assert secret not in done.stderr
    no_traceback(done)


def test_a_secret_echoed_by_the_server_is_taken_out_of_stderr(server: OperationsServer) -> None:
    """A server that repeats the credential in its message does not get it shown."""
    op = server.add_resource([Step("FAILED", message=f"token Bearer {TOKEN} has expired")])
    done = tarry(*resource_args(op.url, "-H", f"Authorization: Bearer {TOKEN}"))
    assert done.returncode == 1
    assert TOKEN not in done.stderr
    assert "has expired" in done.stderr


def test_interrupt_exits_130_without_a_traceback(server: OperationsServer) -> None:
    """Ctrl-C (SIGINT) during a wait: exit 130 and one short line, no traceback, no secret."""
    op = server.add_resource([Step("PENDING")])
    process = subprocess.Popen(
        [sys.executable, "-m", "tarry", *resource_args(f"{op.url}?sig={SIGNATURE}"),
         "-H", f"Authorization: Bearer {TOKEN}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # the first progress line: the wait is polling
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait()
    assert "PENDING" in first
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "tarry wait: interrupted"
    assert out == ""
    assert "Traceback" not in err
    assert TOKEN not in err
    assert SIGNATURE not in err


# -- progress formats ---------------------------------------------------------------------


def test_json_progress_lines_are_json_objects(server: OperationsServer) -> None:
    """--json: every stderr line is a JSON object with a time, a kind and a text."""
    op = server.add_resource(
        [Step("PENDING", message="step 1"), Step("PENDING", poll=2, message="step 2"),
         Step("READY", poll=3)]
    )  # fmt: skip
    done = tarry(*resource_args(op.url, "--json"))
    assert done.returncode == 0, done.stderr
    records = [strict_json(line) for line in done.stderr.splitlines()]
    assert all(isinstance(r, dict) and {"t", "kind", "text"} <= set(r) for r in records)
    progress = [r for r in records if r["kind"] == "progress"]
    assert [(r["state"], r["message"]) for r in progress] == [
        ("PENDING", "step 1"),
        ("PENDING", "step 2"),
    ]
    assert records[-1]["kind"] == "event"
    assert "succeeded" in records[-1]["text"]


def test_quiet_prints_no_progress(server: OperationsServer) -> None:
    """--quiet: nothing on stderr for a success, only the reason for a failure."""
    op = server.add_resource([Step("PENDING"), Step("READY", poll=3)])
    done = tarry(*resource_args(op.url, "--quiet"))
    assert done.returncode == 0
    assert done.stderr == ""
    assert strict_json(done.stdout)["state"] == "READY"
    failing = server.add_resource([Step("PENDING"), Step("FAILED", poll=3, message="no")])
    done = tarry(*resource_args(failing.url, "--quiet"))
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1


def test_missing_state_path_is_shown_as_such(server: OperationsServer) -> None:
    """A --state path the body lacks shows as 'no ... in the body yet', not as None."""
    op = server.add_resource([Step("PENDING")])
    done = tarry(*resource_args(op.url, "--timeout", "0.3", "--state", "status.phase"))
    assert done.returncode == 124
    assert "no 'status.phase' in the body yet" in done.stderr


def test_escape_sequences_from_the_server_never_reach_the_terminal(
    server: OperationsServer,
) -> None:
    """A message holding terminal escape sequences is shown without them."""
    op = server.add_resource(
        [Step("PENDING", message="\x1b]0;pwned\x07\x1b[2Jcleared"), Step("READY", poll=2)]
    )
    done = tarry(*resource_args(op.url))
    assert done.returncode == 0
    assert "\x1b" not in done.stderr
    assert "\x07" not in done.stderr
    assert "cleared" in done.stderr


# -- in-process pieces: live progress and JSON output --------------------------------------


def test_live_progress_ends_its_line_before_a_message() -> None:
    """On a terminal, updates rewrite one line; a lasting message starts on a new line."""
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    progress.update("PENDING")
    progress.update("RUNNING")
    progress.line("tarry wait: succeeded")
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 2
    assert text.endswith("RUNNING\ntarry wait: succeeded\n")
    progress.end()  # nothing open: writes nothing
    assert stream.getvalue() == text


def test_live_progress_stays_within_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """A live line longer than the terminal is cut (a wrapped line could not be rewritten)."""
    monkeypatch.setenv("COLUMNS", "40")
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    progress.update("PENDING: " + "x" * 200 + "\nsecond line")
    shown = stream.getvalue().removeprefix("\r\x1b[K")
    assert len(shown) <= 39
    assert shown.endswith("...")
    assert "\n" not in shown


def test_progress_redacts_and_strips_control_characters() -> None:
    """``redact`` applies to every line, and control characters are dropped."""
    stream = io.StringIO()
    progress = Progress(stream, live=False, redact=lambda t: t.replace("s3cret", "[redacted]"))
    progress.update("token s3cret\x1b[31m red")
    progress.line("again s3cret\x07")
    assert "s3cret" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()
    assert "\x07" not in stream.getvalue()
    assert printable("a\tb\nc\x00", one_line=True) == "a b c"


@pytest.mark.parametrize(
    "value",
    [
        {"x": float("nan"), "y": float("inf")},
        {(1, 2): {3, 4}, 5: b"bytes"},
        {"n": 10**5000},
        {"object": object()},
    ],
    ids=["non-finite", "odd-keys", "huge-int", "object"],
)
def test_json_text_is_always_valid_json(value: Any) -> None:
    """Values json.dumps cannot write as JSON still come out as valid JSON."""
    assert isinstance(strict_json(json_text(value, indent=2)), dict)


def test_json_text_survives_cycles_and_depth() -> None:
    """A cyclic or very deep value is cut with "..." instead of failing."""
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert strict_json(json_text(cyclic)) == {"self": "..."}
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    assert isinstance(strict_json(json_text(deep)), list)


def test_print_result_writes_valid_json_for_odd_entities() -> None:
    """``tarry wait`` prints an entity that is not JSON-serialisable as valid JSON."""
    from tarry._cli import _print_result

    class Odd:
        def __init__(self) -> None:
            self.body = {"ratio": float("inf"), "when": {1, 2}}

    out = io.StringIO()
    _print_result(out, Odd())
    assert strict_json(out.getvalue()) == {"ratio": "inf", "when": [1, 2]}


# -- help and serve -----------------------------------------------------------------------


def test_help_mentions_exit_codes_and_examples() -> None:
    """`tarry --help` and `tarry wait --help` give the exit codes and examples."""
    for args in (["--help"], ["wait", "--help"]):
        done = tarry(*args)
        assert done.returncode == 0
        text = done.stdout
        assert "examples:" in text
        for code in ("0 success", "1 operation failed", "2 usage or HTTP error", "124 timed out"):
            assert code in text, (args, code)
        assert "130" in text


def test_serve_prints_instructions_that_work_and_stops_on_sigint() -> None:
    """`tarry serve --port 0` prints its URL and curl instructions; following them works;
    SIGINT stops it with exit 0."""
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        [sys.executable, "-m", "tarry", "serve", "--port", "0", "--duration", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        stdout = process.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            shown = [lines.get(timeout=15)]
            while "--success" not in shown[-1]:
                shown.append(lines.get(timeout=15))
            found = re.search(r"on (http://127\.0\.0\.1:\d+) ", shown[0])
            assert found, shown
            url = found.group(1)
            # Follow the instructions: the curl create call, then the tarry wait command.
            curl = shlex.split(next(line for line in shown if line.strip().startswith("curl")))
            with httpx.Client(trust_env=False) as client:
                created = client.post(
                    curl[curl.index("POST") + 1], content=curl[curl.index("-d") + 1]
                )
                assert created.status_code in (200, 201), created.text
                got = client.get(f"{url}/api/2.1/clusters/get", params=created.json())
                assert got.status_code == 200
            start = next(i for i, line in enumerate(shown) if "tarry wait" in line)
            command = shlex.split(" ".join(line.strip().rstrip("\\") for line in shown[start:]))
            assert command[:2] == ["tarry", "wait"]
            done = tarry(*command[1:], *FAST)
            assert done.returncode == 0, done.stderr
            assert strict_json(done.stdout)["state"] == "RUNNING"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=15) == 0
            reader.join(timeout=5)
            errors = process.stderr.read()
        finally:
            process.kill()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert "stopping" in "".join(rest)
    assert "Traceback" not in errors


def test_serve_stops_on_sigterm() -> None:
    """`kill` (SIGTERM) stops `tarry serve` as Ctrl-C does: exit 0, no traceback."""
    with subprocess.Popen(
        [sys.executable, "-m", "tarry", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    ) as process:
        try:
            assert process.stdout is not None
            assert "tarry operations server on" in process.stdout.readline()
            process.terminate()
            out, err = process.communicate(timeout=15)
        finally:
            process.kill()
    assert process.returncode == 0, err
    assert "stopping" in out
    assert err == ""


def test_serve_on_a_taken_port_says_what_to_do() -> None:
    """A port in use: exit 2 and a hint to pick another, on stderr."""
    with OperationsServer() as busy:
        done = tarry("serve", "--port", str(busy.port))
    assert done.returncode == 2
    assert "--port 0" in done.stderr
    assert done.stdout == ""
    no_traceback(done)
    done = tarry("serve", "--port", "0", "--duration", "-1")
    assert done.returncode == 2
    assert "--duration must be" in done.stderr


@pytest.mark.parametrize(
    "command",
    [["demo"], ["wait", "http://127.0.0.1:1/", "--convention", "google"], ["serve"]],
    ids=["demo", "wait", "serve"],
)
def test_commands_without_the_http_extra_say_how_to_get_it(command: list[str]) -> None:
    """Without httpx and h11 installed, each command names the extra instead of failing."""
    blocked = "import sys; sys.modules['httpx'] = sys.modules['h11'] = None"
    run = f"{blocked}; from tarry.__main__ import main; sys.exit(main({command!r}))"
    done = subprocess.run(
        [sys.executable, "-c", run], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'tarry[http]'" in done.stderr
    no_traceback(done)


# -- in process: what a subprocess cannot provoke ------------------------------------------


def _wait_in_process(*argv: str) -> tuple[int, str, str]:
    from tarry.__main__ import build_parser
    from tarry._cli import run_wait

    out, err = io.StringIO(), io.StringIO()
    code = run_wait(build_parser().parse_args(["wait", *argv]), out, err)
    return code, out.getvalue(), err.getvalue()


def test_an_unexpected_error_is_one_line_without_secrets(
    server: OperationsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug deep in the HTTP layer: exit 2, one line naming it, the secrets taken out."""
    import tarry.http

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom with Bearer {TOKEN} at http://h/x?sig={SIGNATURE}")

    monkeypatch.setattr(tarry.http, "resource_wait", broken)
    op = server.add_resource([Step("PENDING")])
    code, out, err = _wait_in_process(
        *resource_args(f"{op.url}?sig={SIGNATURE}")[1:], "-H", f"Authorization: Bearer {TOKEN}"
    )
    assert code == 2
    assert out == ""
    assert err.startswith("tarry wait: unexpected RuntimeError")
    assert len(err.splitlines()) == 1
    assert TOKEN not in err
    assert SIGNATURE not in err


def test_keyboard_interrupt_in_process_exits_130(
    server: OperationsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt while polling ends the wait with 130 and 'interrupted'."""
    import tarry.http

    class Interrupting:
        def result(self, **options: Any) -> Any:
            raise KeyboardInterrupt

    monkeypatch.setattr(tarry.http, "resource_wait", lambda *a, **k: Interrupting())
    op = server.add_resource([Step("PENDING")])
    code, out, err = _wait_in_process(*resource_args(op.url)[1:])
    assert code == 130
    assert out == ""
    assert err == "tarry wait: interrupted\n"


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        ([Step("PENDING"), Step("READY", poll=2)], 0),
        ([Step("PENDING"), Step("FAILED", poll=2, message="no")], 1),
        ([Step("PENDING")], 124),
    ],
    ids=["success", "failure", "timeout"],
)
def test_outcomes_in_process(server: OperationsServer, timeline: list[Step], expected: int) -> None:
    """The same outcomes as the subprocess tests, measured by coverage in process."""
    op = server.add_resource(timeline)
    code, out, err = _wait_in_process(*resource_args(op.url, "--timeout", "0.5")[1:])
    assert code == expected, err
    assert strict_json(out)["id"] == op.id


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(server: OperationsServer) -> None:
    """`tarry wait ... | head -c 1`: the closed pipe ends the command quietly (exit 1)."""
    op = server.add_google_operation([Step("SUCCEEDED")], response={"blob": "x" * 300_000})
    with subprocess.Popen(
        [sys.executable, "-m", "tarry", "wait", op.url, "--convention", "google", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader is gone before the result is written
        err = process.stderr.read()
        assert process.wait(timeout=30) == 1
    assert err == ""


def test_resource_convention_reads_nested_paths(server: OperationsServer) -> None:
    """--state and --message are dotted paths into the body (here an Azure resource)."""
    op = server.add_azure_operation(
        [Step("Creating"), Step("Succeeded", poll=2)], headers=[], method="PUT"
    )
    done = tarry(
        "wait", op.url, "--method", "PUT", "--data", "{}",
        "--state", "properties.provisioningState", "--message", "properties.nothing",
        "--success", "Succeeded", "--failure", "Failed", *FAST,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout)["properties"]["provisioningState"] == "Succeeded"
    assert "Creating" in done.stderr
