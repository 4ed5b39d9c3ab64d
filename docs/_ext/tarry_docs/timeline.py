"""``tarry-timeline``: the timing rules as a picture, drawn from real runs of the core.

Two scripted operations are fed to ``tarry.Machine`` on virtual time, with the same
timeout and backoff: one finishes while the last sleep runs, one never does. Every
poll, sleep and outcome in the picture is what the machine answered, so the picture
changes if the rules ever do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

import tarry

from . import svg

TIMEOUT = 20.0
SCALE = 34.0  # pixels per second
LEFT = 40.0
ROW_HEIGHT = 132.0


class ServerError(Exception):
    """A stand-in for an HTTP 503 answer."""


@dataclass
class Trace:
    polls: list[tuple[float, str, bool]]  # time, what it saw, was it the final poll
    sleeps: list[tuple[float, float, str]]  # start, end, label
    outcome: str
    floor: float


Script = list[tuple[str, str, float | None]]  # ("state" | "error", label, Retry-After)

BACKOFF = tarry.Exponential(initial=2.0, multiplier=2.0, cap=16.0, jitter="none")
COMMON: Script = [
    ("state", "PENDING", None),
    ("state", "PENDING", 5.0),
    ("error", "503", None),
    ("state", "PENDING", None),
]
SCENARIOS: list[tuple[str, Script]] = [
    (
        "It finishes during the last sleep: the final poll, at the deadline, sees it.",
        [*COMMON, ("state", "RUNNING", None)],
    ),
    (
        "Still going at the deadline: the final poll finds it pending, and the wait times out.",
        [*COMMON, ("state", "PENDING", None)],
    ),
]


def run(script: Script) -> Trace:
    """Feed ``script`` to a machine on virtual time and record what it did."""
    spec = tarry.Spec(name="cluster", state=lambda e: e["state"], success={"RUNNING"})
    policy = tarry.Policy(timeout=TIMEOUT, backoff=BACKOFF, retry_on=ServerError)
    machine = tarry.Machine(spec, policy, random.Random(0))
    now = 0.0
    action: tarry.Action = machine.start(now)
    polls: list[tuple[float, str, bool]] = []
    sleeps: list[tuple[float, float, str]] = []
    hint: float | None = None
    steps = iter(script)
    while isinstance(action, tarry.PollAfter):
        if action.delay > 0:
            label = f"{action.delay:g} s"
            if action.final:
                label += ", cut to the deadline"
            elif hint is not None and action.delay == hint:
                label += f" (Retry-After: {hint:g})"
            sleeps.append((now, now + action.delay, label))
        now += action.delay
        try:
            kind, seen, hint = next(steps)
        except StopIteration:
            raise RuntimeError(
                f"the core asked for poll {len(polls) + 1} at t={now:g} s, after the script's "
                f"last: it no longer ends a wait as the timing page describes ({action})"
            ) from None
        polls.append((now, seen, action.final))
        if kind == "state":
            action = machine.polled({"state": seen}, now, retry_after=hint)
        else:
            action = machine.poll_failed(ServerError(f"HTTP {seen}"), now, retry_after=hint)
    if isinstance(action, tarry.Succeed):
        outcome = f"returns the entity at t={now:g} s"
    elif isinstance(action, tarry.TimeOut):
        outcome = f"OperationTimedOut: {action.text}"
    else:  # pragma: no cover - the scripts above only succeed or time out
        raise AssertionError(action)
    return Trace(polls, sleeps, outcome, policy.request_floor)


def x_of(t: float) -> float:
    return LEFT + t * SCALE


def draw(traces: list[tuple[str, Trace]]) -> tuple[str, float, float]:
    end = TIMEOUT + 2
    width = x_of(end) + LEFT
    height = 40 + ROW_HEIGHT * len(traces) + 30
    parts = [f"<defs>{svg.arrow_marker('tarry-tick')}</defs>"]
    deadline = x_of(TIMEOUT)
    parts.append(
        f'<line class="deadline" x1="{deadline:.1f}" y1="28" x2="{deadline:.1f}"'
        f' y2="{height - 34:.1f}"/>'
    )
    parts.append(svg.text(deadline, 20, f"deadline: start + timeout ({TIMEOUT:g} s)", cls="note"))
    for row, (title, trace) in enumerate(traces):
        top = 40 + row * ROW_HEIGHT
        axis = top + 62
        parts.append(svg.text(LEFT - 8, top + 14, title, anchor="start", cls="row-title"))
        parts.append(
            f'<line class="axis" x1="{x_of(0):.1f}" y1="{axis:.1f}" x2="{x_of(end):.1f}"'
            f' y2="{axis:.1f}"/>'
        )
        for start, stop, label in trace.sleeps:
            parts.append(
                f'<rect class="sleep" x="{x_of(start) + 6:.1f}" y="{axis - 5:.1f}"'
                f' width="{(stop - start) * SCALE - 12:.1f}" height="10" rx="4"/>'
            )
            parts.append(svg.text((x_of(start) + x_of(stop)) / 2, axis + 24, label, cls="note"))
        last = trace.polls[-1][0]
        parts.append(
            f'<rect class="floor" x="{x_of(last):.1f}" y="{axis - 14:.1f}"'
            f' width="{trace.floor * SCALE:.1f}" height="28"/>'
        )
        for when, seen, final in trace.polls:
            cls = "poll final" if final else "poll"
            parts.append(f'<circle class="{cls}" cx="{x_of(when):.1f}" cy="{axis:.1f}" r="7"/>')
            parts.append(svg.text(x_of(when), axis - 16, seen, cls="poll-label"))
        parts.append(svg.text(LEFT - 8, axis + 52, trace.outcome, anchor="start", cls="outcome"))
    ticks = height - 24
    for second in range(0, int(end) + 1, 2):
        parts.append(svg.text(x_of(second), ticks, f"{second}", cls="tick"))
    parts.append(svg.text(x_of(end), ticks + 14, "seconds", anchor="end", cls="tick"))
    return "".join(parts), width, height


class Timeline(SphinxDirective):
    """Draw the two scripted waits and say in words what the picture shows."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        traces = [(title, run(script)) for title, script in SCENARIOS]
        body, width, height = draw(traces)
        picture = svg.figure(
            body, width, height, title="Timeline of two waits", css_class="tarry-timeline"
        )
        rows = []
        for title, trace in traces:
            polls = ", ".join(f"{seen} at {when:g}" for when, seen, _ in trace.polls)
            rows.append([title, polls, trace.outcome])
        return [picture, svg.table(["wait", "polls (seconds)", "outcome"], rows, {2})]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("tarry-timeline", Timeline)
    return {}
