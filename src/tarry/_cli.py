"""``tarry wait`` and ``tarry serve``: the command line's HTTP commands.

Exit codes of ``tarry wait``: 0 success, 1 the operation failed, 2 a usage or HTTP
error, 124 timed out (as GNU ``timeout``), 130 interrupted (Ctrl-C). The final entity
goes to stdout as JSON, and nothing else does; progress and errors go to stderr, so
``tarry wait ... | jq`` works.

Secrets: the values of ``-H`` headers and of the URLs' query strings and user info
are taken out of everything written to stderr (a server may echo them in an error
body), and no error ever prints a traceback, which could show them too.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from ._backoff import Backoff, Constant, Exponential, Linear
from ._errors import OperationFailed, OperationTimedOut, TarryError
from ._policy import Policy
from ._progress import Progress, json_text, printable

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMED_OUT",
    "EXIT_USAGE",
    "add_commands",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMED_OUT = 124
EXIT_INTERRUPTED = 130

CONVENTIONS = ("resource", "databricks", "google", "azure")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FINAL_STATE_VIA = ("original-uri", "location", "azure-async-operation", "operation-location")
"""``tarry.http.FINAL_STATE_VIA``, spelled out so that ``--help`` works without httpx."""

WAIT_EXAMPLES = """\
examples:
  # a JSON resource whose "status.phase" becomes Ready (or Failed)
  tarry wait https://api.example.com/v1/things/42 --state status.phase \\
      --success Ready --failure Failed --timeout 600

  # an Azure PUT, polled as its response says, with a bearer token
  tarry wait "https://management.example.com/...?api-version=2024-01-01" \\
      --convention azure --method PUT --data @body.json -H "Authorization: Bearer $TOKEN"

  # a Google operation, and the result's name with jq
  tarry wait https://svc.example.com/v1/operations/abc --convention google | jq .response.name

exit codes: 0 success, 1 operation failed, 2 usage or HTTP error, 124 timed out,
  130 interrupted (Ctrl-C). Transient errors (connection errors, 408, 429, 5xx) are
  retried until the timeout; a refused connection before the server's first answer
  is exit 2 at once, as the URL is most likely wrong.
"""

SERVE_EPILOG = """\
then, from another terminal, create a cluster (it prints its cluster_id) and wait on it:
  curl -s -X POST {url}/api/2.1/clusters/create -d '{{"cluster_name": "demo"}}'
  tarry wait "{url}/api/2.1/clusters/get?cluster_id=cluster-1" --convention databricks \\
      --success RUNNING --failure ERROR --failure TERMINATED
"""


class UsageProblem(Exception):
    """A command-line argument that cannot work; exit code 2."""


def add_commands(commands: Any) -> None:
    """Add ``wait`` and ``serve`` to the parser's subcommands."""
    wait = commands.add_parser(
        "wait",
        help="wait on an HTTP long-running operation",
        description="Poll an HTTP operation until it succeeds, fails or times out.\n"
        "The final entity is printed as JSON on stdout; progress goes to stderr.\n"
        "To practise, run `tarry serve` in another terminal: it prints what to try.",
        epilog=WAIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    wait.add_argument(
        "url", metavar="URL", help="the URL to poll (or to call first, with --method)"
    )
    wait.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default="resource",
        help="how to read the operation (default: resource)",
    )
    wait.add_argument(
        "--state",
        metavar="PATH",
        help="resource: path to the state in the JSON body, e.g. status.phase",
    )
    wait.add_argument(
        "--message", metavar="PATH", help="resource: path to a human message in the JSON body"
    )
    wait.add_argument(
        "--success",
        metavar="STATE",
        action="append",
        default=[],
        help="a state that means success (repeat for more)",
    )
    wait.add_argument(
        "--failure",
        metavar="STATE",
        action="append",
        default=[],
        help="a state that means failure (repeat for more)",
    )
    wait.add_argument(
        "--pending",
        metavar="STATE",
        action="append",
        default=None,
        help="a state that means still going; any unlisted state then fails",
    )
    wait.add_argument(
        "--method",
        choices=METHODS,
        default="GET",
        type=str.upper,
        help="method of the first request (default GET; azure needs PUT, PATCH, POST or DELETE)",
    )
    wait.add_argument(
        "--data",
        metavar="JSON",
        help="JSON body of the first request, or @FILE to read it from a file",
    )
    wait.add_argument(
        "--poll-url",
        metavar="URL",
        help="resource, databricks: the URL to poll after a first request "
        "with --method (default: URL)",
    )
    wait.add_argument(
        "-H",
        "--header",
        metavar="'NAME: VALUE'",
        action="append",
        default=[],
        help="a header for every request (repeat for more)",
    )
    wait.add_argument(
        "--param",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a query parameter for every poll, e.g. api-version=2024-01-01",
    )
    wait.add_argument(
        "--allow-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="another origin that polling URLs may lead to (credentials never go there)",
    )
    wait.add_argument(
        "--final-state-via",
        choices=FINAL_STATE_VIA,
        metavar="WHERE",
        help="azure: where the result is (original-uri, location, "
        "azure-async-operation, operation-location)",
    )
    wait.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=1200.0,
        help="give up after this long (default 1200); 0 polls exactly once",
    )
    wait.add_argument(
        "--backoff",
        choices=("linear", "exponential", "constant"),
        default="linear",
        help="delays between polls (default linear)",
    )
    wait.add_argument(
        "--interval",
        metavar="SECONDS",
        type=float,
        default=1.0,
        help="linear: the step; exponential: the first delay; constant: the delay (default 1)",
    )
    wait.add_argument(
        "--max-interval",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="the longest delay between polls (default 10)",
    )
    wait.add_argument(
        "--json", action="store_true", help="progress on stderr as JSON lines, for log collectors"
    )
    wait.add_argument("--quiet", action="store_true", help="no progress, only the result")

    serve = commands.add_parser(
        "serve",
        help="run the embedded fake operations server on 127.0.0.1",
        description="Serve scripted long-running operations on 127.0.0.1 until Ctrl-C.",
    )
    serve.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks one)")
    serve.add_argument(
        "--duration",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long operations created without a timeline take (default 5)",
    )


# -- tarry wait -------------------------------------------------------------------------

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_SHORTEST_SECRET = 6
"""Shorter values are not taken out of messages: they would mangle ordinary words."""


def _headers(raw: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _TOKEN.fullmatch(name):
            start = (item.split() or [""])[0][:40]
            raise UsageProblem(f"a header must look like 'Name: value', got one starting {start!r}")
        if not _HEADER_VALUE.fullmatch(value):
            raise UsageProblem(
                f"the value of header {name!r} must be printable ASCII, "
                "without line breaks or control characters"
            )
        if name.lower() in _FRAMING_HEADERS:
            raise UsageProblem(
                f"header {name!r} is set by the HTTP client for each request; "
                "a fixed value would break the requests"
            )
        headers[name] = value
    return headers


# Headers that describe one message's framing or connection: a value given once for
# every request would make the server wait for a body that never comes, or misread one.
_FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "host", "te", "upgrade",
     "keep-alive", "trailer", "expect"}
)  # fmt: skip


def _params(raw: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageProblem("a --param must look like NAME=VALUE")
        if not _is_text(item):
            raise UsageProblem(f"--param {name[:40]!r} is not valid UTF-8 text")
        params[name] = value
    return params


def _body(data: str | None) -> Any:
    if data is None:
        return None
    text = data
    if data.startswith("@"):
        try:
            with open(data[1:], encoding="utf-8") as file:
                text = file.read()
        except OSError as exc:
            raise UsageProblem(f"cannot read --data file {data[1:]!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageProblem(f"--data file {data[1:]!r} is not UTF-8 text") from None
    if not _is_text(text):
        raise UsageProblem("--data is not valid UTF-8 text")
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise UsageProblem(f"--data is not valid JSON: {exc}") from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a JSON number")
    return value


def _is_text(text: str) -> bool:
    """Arguments that were not UTF-8 arrive with lone surrogates, which no request can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _seconds(value: float, flag: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise UsageProblem(f"{flag} must be a finite, non-negative number of seconds")
    return value


def _backoff(args: argparse.Namespace) -> Backoff:
    interval = _seconds(args.interval, "--interval")
    cap = _seconds(args.max_interval, "--max-interval")
    try:
        if args.backoff == "constant":
            return Constant(interval)
        if args.backoff == "exponential":
            return Exponential(initial=interval, cap=cap)
        return Linear(step=interval, cap=cap)
    except (TypeError, ValueError) as exc:
        raise UsageProblem(f"bad backoff: {exc}") from None


def _policy(args: argparse.Namespace, retry_on: Callable[[Exception], bool]) -> Policy:
    timeout = _seconds(args.timeout, "--timeout")
    try:
        return Policy(timeout=timeout, backoff=_backoff(args), retry_on=retry_on)
    except (TypeError, ValueError) as exc:
        raise UsageProblem(f"--timeout: {exc}") from None


def _check_url(url: str, what: str, httpx: Any, redact: Callable[[object], str]) -> None:
    shown = redact(url)
    shown = shown if len(shown) <= 200 else shown[:197] + "..."
    problem = f"{what} must be an absolute http:// or https:// URL, got {shown!r}"
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when it is not a port
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise UsageProblem(f"{problem}: {redact(str(exc))}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == 0:
        raise UsageProblem(problem)


def _check(args: argparse.Namespace, httpx: Any, redact: Callable[[object], str]) -> None:
    if args.convention == "resource":
        if not args.state:
            raise UsageProblem("the resource convention needs --state PATH")
        if not args.success:
            raise UsageProblem("the resource convention needs at least one --success STATE")
    elif args.convention == "databricks":
        if not args.success:
            raise UsageProblem("the databricks convention needs at least one --success STATE")
    elif args.state or args.message or args.success or args.failure or args.pending:
        raise UsageProblem(
            f"the {args.convention} convention reads states itself: drop --state, "
            "--message, --success, --failure and --pending"
        )
    if args.convention == "azure" and args.method == "GET":
        raise UsageProblem(
            "the azure convention starts with PUT, PATCH, POST or DELETE: give --method"
        )
    if args.data is not None and args.method == "GET":
        raise UsageProblem("--data is the body of the first request: give --method too")
    if args.final_state_via and args.convention != "azure":
        raise UsageProblem("--final-state-via is for the azure convention")
    if args.poll_url and args.convention not in ("resource", "databricks"):
        raise UsageProblem("--poll-url is for the resource and databricks conventions")
    _check_url(args.url, "the URL", httpx, redact)
    if args.poll_url:
        _check_url(args.poll_url, "--poll-url", httpx, redact)
    for origin in args.allow_origin:
        _check_url(origin, "--allow-origin", httpx, redact)


def _secrets(args: argparse.Namespace) -> list[str]:
    """What must never be shown: header values (and the credential after a scheme such
    as ``Bearer``), query values and user info of the URLs, and ``--param`` values."""
    found: list[str] = []
    for item in args.header:
        _, sep, value = item.partition(":")
        value = (value if sep else item).strip()
        found += [value, *value.split()[-1:]]
    for url in (args.url, args.poll_url):
        if not url:
            continue
        head, _, query = url.partition("?")
        query = query.partition("#")[0]
        for piece in query.split("&"):
            value = piece.partition("=")[2]
            found += [value, unquote(value), unquote(value.replace("+", " "))]
        authority = head.partition("//")[2].partition("/")[0]
        userinfo = authority.rpartition("@")[0]
        for part in userinfo.split(":"):
            found += [part, unquote(part)]
    for item in args.param:
        found.append(item.partition("=")[2])
    wanted = {text for text in found if len(text) >= _SHORTEST_SECRET}
    return sorted(wanted, key=len, reverse=True)


def _scrubber(secrets: Sequence[str]) -> Callable[[str], str]:
    """A function that takes every secret out of a text."""
    if not secrets:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(secret) for secret in secrets))
    return lambda text: pattern.sub("[redacted]", text)


def _describe_http_error(error: Exception, redact: Callable[[object], str]) -> str:
    """An httpx error without the secrets a URL may carry."""
    text = str(error) or "no detail"
    try:
        url = str(error.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return f"{type(error).__name__}: {text}"
    return f"{type(error).__name__} on {redact(url)}: {text.replace(url, redact(url))}"


def _print_result(out: TextIO, entity: Any) -> None:
    """The entity (its JSON body, for a ``Reply``) as JSON: whole, or not at all."""
    if entity is None:
        return
    text = json_text(getattr(entity, "body", entity), indent=2)
    out.write(text + "\n")
    out.flush()


def _progress_text(entity: Any, state_path: str | None) -> str:
    state = getattr(entity, "state", None)
    message = getattr(entity, "message", None)
    if state is None:
        shown = f"no {state_path!r} in the body yet" if state_path else "no state yet"
    else:
        shown = str(state)
    return shown + (f": {message}" if message else "")


def run_wait(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``tarry wait``: returns the exit code."""
    scrub = _scrubber(_secrets(args))

    def say(text: str) -> None:
        err.write(printable(scrub(f"tarry wait: {text}")) + "\n")
        err.flush()

    try:
        import httpx

        from . import http as tarry_http
    except ImportError:
        err.write("tarry wait needs the http extra: pip install 'tarry[http]'\n")
        return EXIT_USAGE

    answered = False

    def retry(error: Exception) -> bool:
        """Transient errors are retried, except a refused connection before any answer:
        then the URL is most likely wrong, and waiting would only hide it."""
        if not isinstance(error, tarry_http.TransientHttpError):
            return False
        return answered or not isinstance(error.__cause__, httpx.ConnectError)

    try:
        _check(args, httpx, tarry_http.redact)
        headers = _headers(args.header)
        params = _params(args.param)
        body = _body(args.data)
        policy = _policy(args, retry)
    except UsageProblem as problem:
        say(str(problem))
        return EXIT_USAGE

    progress = Progress(err, as_json=args.json, redact=scrub)

    def show(entity: Any) -> None:
        nonlocal answered
        answered = True
        if args.quiet:
            return
        state = getattr(entity, "state", None)
        message = getattr(entity, "message", None)
        text = _progress_text(entity, args.state)
        progress.update(text, state=state, message=message)

    options: dict[str, Any] = {
        "policy": policy,
        "allowed_origins": args.allow_origin,
        "sensitive_headers": list(headers),
    }
    if params:
        options["params"] = params
    try:
        with httpx.Client(headers=headers, follow_redirects=False) as client:
            waiter, first = _build(args, client, body, options, tarry_http)
            answered = first is not None
            entity = waiter.result(callback=show)
    except KeyboardInterrupt:
        progress.end()
        say("interrupted")
        return EXIT_INTERRUPTED
    except OperationFailed as failed:
        progress.line(f"tarry wait: {failed}")
        _print_result(out, failed.entity)
        return EXIT_FAILED
    except OperationTimedOut as timed_out:
        progress.line(f"tarry wait: {timed_out}")
        _print_result(out, timed_out.entity)
        return EXIT_TIMED_OUT
    except TarryError as error:
        progress.line(f"tarry wait: {error}")
        return EXIT_USAGE
    except httpx.HTTPError as error:
        progress.line(f"tarry wait: {_describe_http_error(error, tarry_http.redact)}")
        return EXIT_USAGE
    except (TypeError, ValueError) as error:
        progress.line(f"tarry wait: {error}")
        return EXIT_USAGE
    except Exception as error:  # a bug: say so, without a traceback that could hold secrets
        text = f"{error}"[:500]
        progress.line(
            f"tarry wait: unexpected {type(error).__name__} (a bug in tarry, please report "
            f"it): {tarry_http.redact(text) if '://' in text else text}"
        )
        return EXIT_USAGE
    if not args.quiet:
        progress.line(f"tarry wait: succeeded after {progress.elapsed():.1f}s")
    _print_result(out, entity)
    return EXIT_OK


def _build(
    args: argparse.Namespace, client: Any, body: Any, options: dict[str, Any], tarry_http: Any
) -> tuple[Any, Any]:
    """The wait for the chosen convention, and the first response if there is one.

    Every argument is checked before the first request, which may start an operation
    for real: a resource wait is built once without the response, to check them.
    """
    if args.method == "GET" and args.convention in ("resource", "databricks"):
        return _resource_wait(args, client, args.url, None, options, tarry_http), None
    if args.convention in ("resource", "databricks"):
        _resource_wait(args, client, args.poll_url or args.url, None, options, tarry_http)
    first = _first_request(client, args.method, args.url, body, tarry_http)
    if args.convention in ("resource", "databricks"):
        url = args.poll_url or args.url
        return _resource_wait(args, client, url, first, options, tarry_http), first
    if args.convention == "google":
        return tarry_http.google_operation(client, first, **options), first
    waiter = tarry_http.azure_operation(
        client, first, final_state_via=args.final_state_via, **options
    )
    return waiter, first


def _resource_wait(
    args: argparse.Namespace,
    client: Any,
    url: str,
    first: Any,
    options: dict[str, Any],
    tarry_http: Any,
) -> Any:
    if args.convention == "resource":
        return tarry_http.resource_wait(
            client,
            url,
            state=args.state,
            message=args.message,
            success=set(args.success),
            failure=set(args.failure),
            pending=args.pending,
            response=first,
            **options,
        )
    return tarry_http.databricks_wait(
        client,
        url,
        success=set(args.success),
        failure=set(args.failure),
        pending=args.pending,
        response=first,
        **options,
    )


def _first_request(client: Any, method: str, url: str, body: Any, tarry_http: Any) -> Any:
    """Send the request that starts (or, for GET, shows) the operation."""
    response = (
        client.request(method, url, json=body) if body is not None else client.request(method, url)
    )
    tarry_http.check_response(response)
    return response


# -- tarry serve ------------------------------------------------------------------------


def run_serve(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """``tarry serve``: the embedded server in the foreground until Ctrl-C, SIGTERM (as
    ``kill`` sends) or ``stop``. Exit 0 when stopped so."""
    err = err or out
    try:
        from .testing import OperationsServer
    except ImportError:  # pragma: no cover - h11 missing
        err.write("tarry serve needs the http extra: pip install 'tarry[http]'\n")
        return EXIT_USAGE
    if not math.isfinite(args.duration) or args.duration < 0:
        err.write("tarry serve: --duration must be a finite, non-negative number of seconds\n")
        return EXIT_USAGE
    try:
        server = OperationsServer(port=args.port, default_duration=args.duration)
        server.start()
    except OSError as exc:
        err.write(
            f"tarry serve: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
            "pick another --port, or --port 0 for any free one\n"
        )
        return EXIT_USAGE
    except ValueError as exc:
        err.write(f"tarry serve: {exc}\n")
        return EXIT_USAGE
    waiter = stop or threading.Event()
    with _stop_on_sigterm(waiter):
        try:
            out.write(f"tarry operations server on {server.url} (Ctrl-C stops it)\n\n")
            out.write(SERVE_EPILOG.format(url=server.url))
            out.flush()
            while not waiter.wait(0.5):
                pass
            out.write("stopping\n")
        except KeyboardInterrupt:
            out.write("\nstopping\n")
        finally:
            server.stop()
    return EXIT_OK


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """While in the main thread, SIGTERM sets ``stop`` instead of killing the process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def dispatch(command: str) -> Callable[[argparse.Namespace], int]:
    """The function running ``command``, writing to the real stdout and stderr."""
    if command == "wait":
        return lambda args: run_wait(args, sys.stdout, sys.stderr)
    return lambda args: run_serve(args, sys.stdout, sys.stderr)
