"""``tarry wait`` and ``tarry serve``: the command line's HTTP commands.

Exit codes of ``tarry wait``: 0 success, 1 the operation failed, 2 a usage or HTTP
error, 124 timed out (as GNU ``timeout``). The final entity goes to stdout as JSON;
progress and errors go to stderr, so ``tarry wait ... | jq`` works.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ._backoff import Backoff, Constant, Exponential, Linear
from ._errors import OperationFailed, OperationTimedOut, TarryError
from ._policy import Policy
from ._progress import Progress

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_TIMED_OUT", "EXIT_USAGE", "add_commands"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMED_OUT = 124

CONVENTIONS = ("resource", "databricks", "google", "azure")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

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

exit codes: 0 success, 1 operation failed, 2 usage or HTTP error, 124 timed out
"""

SERVE_EPILOG = """\
then, from another terminal:
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
        description="Poll an HTTP operation until it succeeds, fails or times out. The "
        "final entity is printed as JSON on stdout; progress goes to stderr.",
        epilog=WAIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    wait.add_argument("url", help="the URL to poll (or to call first, with --method)")
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


def _headers(raw: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise UsageProblem(f"header must look like 'Name: value', got {item!r}")
        headers[name.strip()] = value.strip()
    return headers


def _params(raw: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageProblem(f"param must look like NAME=VALUE, got {item!r}")
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
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageProblem(f"--data is not valid JSON: {exc}") from None


def _backoff(args: argparse.Namespace) -> Backoff:
    try:
        if args.backoff == "constant":
            return Constant(args.interval)
        if args.backoff == "exponential":
            return Exponential(initial=args.interval, cap=args.max_interval)
        return Linear(step=args.interval, cap=args.max_interval)
    except (TypeError, ValueError) as exc:
        raise UsageProblem(f"bad backoff: {exc}") from None


def _policy(args: argparse.Namespace) -> Policy:
    try:
        return Policy(timeout=args.timeout, backoff=_backoff(args))
    except (TypeError, ValueError) as exc:
        raise UsageProblem(str(exc)) from None


def _check(args: argparse.Namespace) -> None:
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
    if args.final_state_via and args.convention != "azure":
        raise UsageProblem("--final-state-via is for the azure convention")
    if args.poll_url and args.convention not in ("resource", "databricks"):
        raise UsageProblem("--poll-url is for the resource and databricks conventions")


def _entity_json(entity: Any) -> Any:
    return getattr(entity, "body", entity)


def _describe_http_error(error: Exception, redact: Callable[[object], str]) -> str:
    """An httpx error without the secrets a URL may carry."""
    text = str(error) or "no detail"
    try:
        url = str(error.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return f"{type(error).__name__}: {text}"
    return f"{type(error).__name__} on {redact(url)}: {text.replace(url, redact(url))}"


def _print_result(out: TextIO, entity: Any) -> None:
    if entity is None:
        return
    json.dump(_entity_json(entity), out, indent=2, default=str)
    out.write("\n")
    out.flush()


def run_wait(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``tarry wait``: returns the exit code."""
    try:
        import httpx

        from . import http as tarry_http
    except ImportError:
        err.write("tarry wait needs the http extra: pip install 'tarry[http]'\n")
        return EXIT_USAGE
    try:
        _check(args)
        headers = _headers(args.header)
        params = _params(args.param)
        body = _body(args.data)
        policy = _policy(args)
    except UsageProblem as problem:
        err.write(f"tarry wait: {problem}\n")
        return EXIT_USAGE

    progress = Progress(err, as_json=args.json)

    def show(entity: Any) -> None:
        if args.quiet:
            return
        state = getattr(entity, "state", None)
        message = getattr(entity, "message", None)
        text = f"{state}" + (f": {message}" if message else "")
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
            waiter = _build(args, client, body, options, tarry_http)
            entity = waiter.result(callback=show)
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
    if not args.quiet:
        progress.line("tarry wait: succeeded")
    _print_result(out, entity)
    return EXIT_OK


def _build(
    args: argparse.Namespace, client: Any, body: Any, options: dict[str, Any], tarry_http: Any
) -> Any:
    """The wait for the chosen convention, after the first request if there is one."""
    first = None
    url = args.url
    if args.method != "GET" or args.convention in ("google", "azure"):
        first = _first_request(client, args.method, url, body, tarry_http)
        url = args.poll_url or url
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
    if args.convention == "databricks":
        return tarry_http.databricks_wait(
            client,
            url,
            success=set(args.success),
            failure=set(args.failure),
            pending=args.pending,
            response=first,
            **options,
        )
    if args.convention == "google":
        return tarry_http.google_operation(client, first, **options)
    return tarry_http.azure_operation(
        client, first, final_state_via=args.final_state_via, **options
    )


def _first_request(client: Any, method: str, url: str, body: Any, tarry_http: Any) -> Any:
    """Send the request that starts (or, for GET, shows) the operation."""
    response = (
        client.request(method, url, json=body) if body is not None else client.request(method, url)
    )
    tarry_http.check_response(response)
    return response


# -- tarry serve ------------------------------------------------------------------------


def run_serve(args: argparse.Namespace, out: TextIO, stop: threading.Event | None = None) -> int:
    """``tarry serve``: the embedded server in the foreground until Ctrl-C (or ``stop``)."""
    try:
        from .testing import OperationsServer
    except ImportError:  # pragma: no cover - h11 missing
        out.write("tarry serve needs the http extra: pip install 'tarry[http]'\n")
        return EXIT_USAGE
    try:
        server = OperationsServer(port=args.port, default_duration=args.duration)
        server.start()
    except (OSError, ValueError) as exc:
        out.write(f"tarry serve: {exc}\n")
        return EXIT_USAGE
    try:
        out.write(f"tarry operations server on {server.url} (Ctrl-C stops it)\n\n")
        out.write(SERVE_EPILOG.format(url=server.url))
        out.flush()
        waiter = stop or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            out.write("\nstopping\n")
    finally:
        server.stop()
    return EXIT_OK


def dispatch(command: str) -> Callable[[argparse.Namespace], int]:
    """The function running ``command``, writing to the real stdout and stderr."""
    if command == "wait":
        return lambda args: run_wait(args, sys.stdout, sys.stderr)
    return lambda args: run_serve(args, sys.stdout)
