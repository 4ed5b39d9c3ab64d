"""Run the benchmark suite, print every table, and write them to docs/benchmarks.md.

    python bench/run.py              # everything (about ten minutes here)
    python bench/run.py --quick      # tiny sizes, a few seconds: only checks it all runs
    python bench/run.py --only sync,async --output /tmp/bench.md

The contenders (databricks-sdk, polling2, google-api-core, botocore, backoff, tenacity,
azure-core) are installed by ``nox -s bench``. A full run refuses to start without
them; ``--quick`` leaves out whichever are missing and says so.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime
import os
import platform
import pstats
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import _candidate
import _common
import deadline
import efficiency
import overhead_async
import overhead_sync
from _common import Section, Sleeps, markdown_table, text_table, version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
WORKLOADS = ("sync", "async", "scale", "http", "deadline", "efficiency", "profile")
CONTENDER_DISTS = (
    "tarry",
    "databricks-sdk",
    "polling2",
    "google-api-core",
    "botocore",
    "backoff",
    "tenacity",
    "azure-core",
    "httpx",
    "trio",
)


@dataclass(frozen=True)
class Sizes:
    sync_ks: tuple[int, ...]
    sync_rounds: int
    async_ks: tuple[int, ...]
    async_rounds: int
    target: float  # seconds per timed sample
    scale_sizes: tuple[int, ...]
    scale_k: int
    scale_rounds: int
    tenacity_max: int
    efficiency_ops: int
    deadline_timeout: float
    deadline_slow: float
    deadline_reps: int
    http_k: int
    http_rounds: int
    http_target: float
    http_concurrent: int
    http_concurrent_k: int
    profile_k: int


FULL = Sizes(
    sync_ks=(50, 1000),
    sync_rounds=15,
    async_ks=(50, 1000),
    async_rounds=9,
    target=0.05,
    scale_sizes=(10_000, 100_000),
    scale_k=20,
    scale_rounds=3,
    tenacity_max=10_000,
    efficiency_ops=2000,
    deadline_timeout=0.5,
    deadline_slow=1.5,
    deadline_reps=3,
    http_k=20,
    http_rounds=7,
    http_target=0.3,
    http_concurrent=1000,
    http_concurrent_k=2,
    profile_k=1000,
)
QUICK = Sizes(
    sync_ks=(5, 20),
    sync_rounds=2,
    async_ks=(5,),
    async_rounds=2,
    target=0.0,
    scale_sizes=(50,),
    scale_k=3,
    scale_rounds=1,
    tenacity_max=50,
    efficiency_ops=20,
    deadline_timeout=0.05,
    deadline_slow=0.15,
    deadline_reps=1,
    http_k=3,
    http_rounds=1,
    http_target=0.0,
    http_concurrent=10,
    http_concurrent_k=1,
    profile_k=20,
)


def _goal(text: str, met: bool, figure: str) -> tuple[str, bool, str]:
    return text, met, figure


# ---------------------------------------------------------------------------------------


def sync_section(sizes: Sizes, strict: bool) -> Section:
    results, missing = overhead_sync.run(
        list(sizes.sync_ks), sizes.sync_rounds, sizes.target, strict
    )
    k = max(sizes.sync_ks)
    timed = results[k]
    floor = timed[overhead_sync.FLOOR].median
    ratio = timed["tarry.wait"].median / floor
    note = (
        "Median cost per poll over interleaved rounds; every sleep is a counted no-op and "
        "each contender's poll and sleep counts are checked (K+1 polls, K sleeps; tarry's "
        "drivers also sleep 0 s before the first poll). SDK loops run as shipped, with "
        "their module's `time.sleep` replaced by the no-op. *tarry core in a bare loop* "
        "drives `tarry.Machine` by hand through its public methods, as an SDK with its own "
        "I/O would: each still-going poll returns a `PollAfter`, which tarry's own drivers "
        "do without (they take the bare delay), so it costs more than `tarry.wait`."
    )
    if missing:
        note += " Not run (package missing): " + ", ".join(missing) + "."
    section = Section(
        f"1. Sync per-poll overhead (K = {', '.join(map(str, sizes.sync_ks))})",
        note,
        overhead_sync.header(list(sizes.sync_ks)),
        overhead_sync.rows(results),
    )
    section.goals.append(
        _goal(
            f"sync overhead at K = {k}: tarry.wait <= 6x the floor",
            ratio <= 6.0,
            _common.fmt_ratio(ratio),
        )
    )
    return section


BOUND_NOTE = (
    "The *bound* row is not a waiter: it does only what tarry's machine must do on a "
    "common poll (read the state and the message through the spec's functions, judge "
    "the state with one look-up, count the poll, keep what it saw, draw the backoff's "
    "delay and jitter, compare it with the deadline), with no check of its inputs and "
    "nothing for failures, hints, the final poll or request budgets, driven as tarry's "
    "driver drives its machine (a first 0 s sleep included; see `Bound` in "
    "bench/overhead_async.py). What tarry costs above it is what those checks and "
    "features cost."
)


def async_section(sizes: Sizes, strict: bool) -> Section:
    results, missing = overhead_async.run_overhead(
        list(sizes.async_ks), sizes.async_rounds, sizes.target, strict
    )
    note = (
        "One wait at a time; every contender sleeps through the same counted sleep, "
        "which is the running library's `sleep(0)`: one trip through the scheduler per poll. "
        + BOUND_NOTE
    )
    if missing:
        note += " Not run (package missing): " + ", ".join(missing) + "."
    section = Section(
        "2. Async per-poll overhead",
        note,
        overhead_async.OVERHEAD_HEADER,
        overhead_async.overhead_rows(results),
    )
    k = max(sizes.async_ks)
    for library in overhead_async.LIBRARIES:
        timed = results[library, k]
        ratio = timed["tarry.async_wait"].median / timed[overhead_async.FLOOR].median
        section.goals.append(
            _goal(
                f"async overhead under {library} (K = {k}): tarry <= 1.3x the floor",
                ratio <= 1.3,
                _common.fmt_ratio(ratio),
            )
        )
    return section


def scale_section(sizes: Sizes, strict: bool) -> Section:
    rows, figures = overhead_async.run_scale(
        list(sizes.scale_sizes), sizes.scale_k, sizes.scale_rounds, strict, sizes.tenacity_max
    )
    smallest = min(sizes.scale_sizes)
    rounds = (
        f"median of {sizes.scale_rounds} interleaved runs up to 10,000 waits, one run above"
        if sizes.scale_rounds > 1
        else "one run"
    )
    section = Section(
        f"3. Scale: concurrent async waits (K = {sizes.scale_k})",
        f"Wall time is the {rounds}; peak per waiter is tracemalloc's peak during "
        "a separate traced run, minus what was traced before the waits began, divided by "
        "the number of waits (the operations themselves are allocated before). Each poll "
        f"yields once (`sleep(0)`). tenacity runs only up to {sizes.tenacity_max:,} waits. "
        + BOUND_NOTE,
        overhead_async.SCALE_HEADER,
        rows,
    )
    floor = figures["asyncio", smallest, overhead_async.FLOOR]
    tarry_fig = figures.get(("asyncio", smallest, "tarry.async_wait"))
    if tarry_fig is not None:
        per_kb = tarry_fig[1] / 1024
        section.goals.append(
            _goal(
                f"{smallest:,} concurrent asyncio waits: tarry <= 2 KB per waiter",
                per_kb <= 2.0,
                f"{per_kb:.2f} KB (plain loop {floor[1] / 1024:.2f} KB)",
            )
        )
        ratio = tarry_fig[0] / floor[0]
        section.goals.append(
            _goal(
                f"{smallest:,} concurrent asyncio waits: tarry <= 1.5x the plain loop's time",
                ratio <= 1.5,
                _common.fmt_ratio(ratio),
            )
        )
    return section


def http_section(sizes: Sizes, strict: bool) -> Section:
    try:
        import http_bench
    except ImportError as exc:  # httpx or tarry.http missing
        if strict:
            raise
        return Section("4. HTTP over loopback", f"Not run: {exc}.", [], [])
    rows, slowdown = http_bench.run(
        sizes.http_k,
        sizes.http_rounds,
        sizes.http_target,
        sizes.http_concurrent,
        sizes.http_concurrent_k,
    )
    section = Section(
        "4. HTTP over loopback",
        f"A Databricks-style cluster on the embedded operations server (a child process on "
        f"127.0.0.1), PENDING for K = {sizes.http_k} polls (K = {sizes.http_concurrent_k} "
        "for the concurrent runs), then RUNNING. Same httpx client for both contenders, "
        "sleeps are no-ops (sync) or `sleep(0)` (async); request counts are checked. "
        "One-at-a-time rows are medians of interleaved rounds. The server's listening "
        "socket gets TCP_NODELAY (see bench/http_bench.py: without it every request "
        "stalls ~40 ms). With many waits on one client, the requests queue for httpx's "
        "100 pooled connections (all kept alive in these runs) and the client process "
        "is busy the whole run in the pool's bookkeeping, whose cost grows with the "
        "queue (its CPU time is its wall time); whichever loop polls, some runs take "
        "half as long again as others. So the concurrent rows give the fastest of "
        "interleaved runs, the least disturbed for both loops, with the median and the "
        "slowest beside it.",
        http_bench.HEADER,
        rows,
    )
    at_once = [v for k, v in slowdown.items() if "at once" in k]
    one_by_one = [v for k, v in slowdown.items() if "at once" not in k]
    for label, settings in (
        ("one wait at a time", one_by_one),
        (f"{sizes.http_concurrent:,} waits at once", at_once),
    ):
        worst = max(settings)
        section.goals.append(
            _goal(
                f"HTTP, {label}: tarry.http <= 10 % slower than the bare httpx loop "
                "(worst setting)",
                worst <= 1.10,
                f"{(worst - 1) * 100:+.1f} %",
            )
        )
    return section


def deadline_section(sizes: Sizes, strict: bool) -> Section:
    rows, worst, missing = deadline.run(
        sizes.deadline_timeout, sizes.deadline_slow, sizes.deadline_reps, strict, quick=not strict
    )
    note = (
        f"Timeout {sizes.deadline_timeout:g} s on the real clock, an operation that never "
        f"finishes; {sizes.deadline_reps} run(s) per loop. Positive: ended after the "
        "deadline; negative: gave up before it. See bench/deadline.py for how each loop is "
        "driven (azure-core: `LROPoller` over its own `LROBasePolling` and a "
        "`PipelineClient` with an in-memory transport)."
    )
    if missing:
        note += " Not run (package missing): " + ", ".join(missing) + "."
    if not strict:
        note += " Quick mode leaves out databricks-sdk (its sleeps are at least 1 s)."
    section = Section("5. Deadline accuracy (real clock)", note, deadline.HEADER, rows)
    for (scenario, name), overrun in worst.items():
        if not name.startswith("tarry"):
            continue
        floor = float(name.split("request_floor=")[1].split(")")[0].split(",")[0])
        section.goals.append(
            _goal(
                f"deadline, {scenario}, {name}: ends within request_floor + 20 ms",
                overrun <= floor + 0.020,
                f"worst {overrun * 1000:+,.0f} ms (allowed {(floor + 0.020) * 1000:,.0f} ms)",
            )
        )
    return section


def efficiency_section(sizes: Sizes, strict: bool) -> Section:
    rows = efficiency.run(sizes.efficiency_ops)
    return Section(
        "6. Polling efficiency (virtual time)",
        f"{sizes.efficiency_ops:,} operations finishing at times drawn log-uniformly from "
        f"1 s to 1 h (seed {efficiency.SEED}). Lag is the time between the finish and the "
        "poll that saw it. No deadline cuts a schedule; the last column says how many "
        "operations each library's default time limit would have cut off instead. "
        "tarry's rows run the real core on a `FakeClock`; the SDK rows re-state each "
        "SDK's schedule (see bench/efficiency.py).",
        efficiency.HEADER,
        rows,
    )


def _where(filename: str, function: str) -> str:
    """A profiled function as people read it: ``file.py:name`` or the builtin's name."""
    if filename == "~":  # a builtin: "<built-in method time.monotonic>", no addresses
        return re.sub(r" at 0x[0-9a-f]+", "", function.strip("<>"))
    return f"{Path(filename).name}:{function}"


def profile_section(sizes: Sizes, strict: bool) -> Section:
    """Python function calls per poll, counted by cProfile, for each sync loop."""
    k = sizes.profile_k
    contenders, _ = overhead_sync.available(strict=False)
    rows = []
    for name in (
        overhead_sync.FLOOR,
        "loop + monotonic deadline",
        "tarry.wait",
        "tarry core in a bare loop",
    ):
        make_op, make_waiter, patch = contenders[name]
        op, sleeps = make_op(k), Sleeps()
        waiter = make_waiter(sleeps)
        profiler = cProfile.Profile()
        with patch(sleeps):
            op.begin()
            profiler.enable()
            waiter(op, sleeps)
            profiler.disable()
        stats = pstats.Stats(profiler)
        calls = stats.total_calls  # type: ignore[attr-defined]
        top = sorted(
            ((v[0], _where(f, fn)) for (f, _, fn), v in stats.stats.items()),  # type: ignore[attr-defined]
            reverse=True,
        )
        busiest = ", ".join(
            f"{where} x{count // (k + 1)}" for count, where in top[:14] if count > k
        )
        rows.append([name, f"{calls / (k + 1):.1f}", busiest])
    return Section(
        f"Profile: function calls per poll (cProfile, K = {k})",
        "Calls counted by cProfile over one wait, divided by the polls; the calls made "
        "at least once per poll are listed with their count per poll. bench/profile_hot.py "
        "prints the full cProfile and pyinstrument reports.",
        ["loop", "calls per poll", "called every poll"],
        rows,
    )


SECTIONS = {
    "sync": sync_section,
    "async": async_section,
    "scale": scale_section,
    "http": http_section,
    "deadline": deadline_section,
    "efficiency": efficiency_section,
    "profile": profile_section,
}


# ---------------------------------------------------------------------------------------


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f} (1 / 5 min)"


def tarry_source() -> str:
    """Which tarry was measured: its folder, and the commit when it is this checkout's."""
    import subprocess

    import tarry

    folder = Path(tarry.__file__).resolve().parent
    where = str(folder)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return where
    if folder == ROOT / "src" / "tarry":
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=ROOT, check=False
        ).returncode
        return f"this checkout at {commit}" + (" with uncommitted changes in src/" if dirty else "")
    return f"{where} (checkout at {commit})"


def _candidate_line() -> str:
    candidate = _candidate.loaded()
    if candidate is None:
        return ""
    return f"; candidate (rows marked so): {Path(str(candidate.__file__)).parent}"


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}"
    )


QUICK_WARNING = "QUICK MODE: tiny sizes, so the figures mean nothing and no goal is judged"


def _verdict(met: bool, quick: bool, missed: str = "NOT MET") -> str:
    if quick:
        return "not judged (quick)"
    return "met" if met else missed


def render(
    sections: list[Section], quick: bool, started: datetime.datetime, spent: float, load: str
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "tarry's waiting loops measured side by side with the loops of other SDKs and retry "
        "libraries, in one run, interleaved. Shared machines drift by tens of percent, so "
        "read the ratios, not the absolute times. Written by `nox -s bench`, which "
        "installs the contenders at pinned versions and runs `bench/run.py`; do not edit "
        "by hand. `nox -s bench -- --quick --no-write` checks in seconds that every "
        "workload runs; `nox -s bench -- --only sync,async --no-write` runs a part; "
        "`--candidate path/to/src` races another copy of tarry beside this one.",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC ({spent / 60:.1f} minutes)"
        + (f" — {QUICK_WARNING}" if quick else ""),
        f"- Machine: {machine()}; load average {load}",
        f"- tarry measured: {tarry_source()}" + _candidate_line(),
        "- Versions: " + ", ".join(f"{d} {version(d)}" for d in CONTENDER_DISTS),
        "",
    ]
    goals = [g for s in sections for g in s.goals]
    if goals:
        lines += [
            "## Goals",
            "",
            markdown_table(
                ["goal", "met", "figure"],
                [
                    [text, _verdict(met, quick, missed="**not met**"), figure]
                    for text, met, figure in goals
                ],
            ),
            "",
        ]
    for section in sections:
        lines += [f"## {section.title}", "", section.note, ""]
        if section.rows:
            lines += [markdown_table(section.header, section.rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help=f"comma-separated workloads to run, from: {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--output", type=Path, default=None, help="markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print only, write no file")
    parser.add_argument(
        "--scale",
        default=None,
        help="comma-separated numbers of concurrent waits for workload 3 (default 10000,100000)",
    )
    parser.add_argument(
        "--candidate",
        type=Path,
        default=None,
        help="a src folder holding another tarry, raced beside this one in workloads 1-3",
    )
    args = parser.parse_args(argv)
    chosen = [w.strip() for w in args.only.split(",") if w.strip()]
    if not chosen:
        parser.error(f"--only names no workload; choose from {', '.join(WORKLOADS)}")
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        parser.error(
            f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )
    if args.output is not None and args.no_write:
        parser.error("--output and --no-write contradict each other: pass one")
    if args.output is None and not args.no_write:
        if args.quick:
            parser.error("--quick figures mean nothing: pass --output or --no-write")
        if chosen != list(WORKLOADS):
            parser.error(
                f"--only would replace {DEFAULT_OUTPUT.relative_to(ROOT)} with part of the "
                "tables: pass --output or --no-write"
            )
    if args.output is not None and not args.output.resolve().parent.is_dir():
        parser.error(f"--output: no folder {args.output.resolve().parent} to write into")
    if args.candidate is not None:
        try:
            _candidate.load(args.candidate.resolve())
        except _candidate.CandidateError as exc:
            parser.error(f"--candidate: {exc}")
    sizes = QUICK if args.quick else FULL
    if args.scale is not None:
        try:
            counts = tuple(int(n) for n in args.scale.split(","))
        except ValueError:
            parser.error(f"--scale takes whole numbers separated by commas, not {args.scale!r}")
        if not counts or min(counts) < 1:
            parser.error("--scale needs at least one positive number of waits")
        sizes = dataclasses.replace(sizes, scale_sizes=counts)
    strict = not args.quick
    started = datetime.datetime.now(datetime.timezone.utc)
    begin = time.monotonic()
    start_load = _load()
    print(f"tarry benchmarks, {'quick' if args.quick else 'full'} run on {machine()}", flush=True)
    if args.quick:
        print(QUICK_WARNING, flush=True)
    print(f"tarry measured: {tarry_source()}; load average {start_load}", flush=True)
    sections = []
    failed = []
    for workload in chosen:
        t0 = time.monotonic()
        try:
            section = SECTIONS[workload](sizes, strict)
        except (Exception, SystemExit) as exc:  # one broken workload must not lose the rest
            failed.append(workload)
            traceback.print_exc()
            section = Section(workload, f"**FAILED**: {type(exc).__name__}: {exc}", [], [])
        sections.append(section)
        print(f"\n== {section.title} ({time.monotonic() - t0:.1f} s)\n{section.note}\n", flush=True)
        if section.rows:
            print(text_table(section.header, section.rows), flush=True)
        for text, met, figure in section.goals:
            print(f"  goal: {text}: {_verdict(met, args.quick)} ({figure})", flush=True)
    load = f"{start_load} at the start, {_load()} at the end"
    report = render(sections, args.quick, started, time.monotonic() - begin, load)
    if not args.no_write:
        output = args.output or DEFAULT_OUTPUT
        output.write_text(report + "\n", encoding="utf-8")
        print(f"\nwrote {output}")
    if failed:
        print(f"FAILED workload(s): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
