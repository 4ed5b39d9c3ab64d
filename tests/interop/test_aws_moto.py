"""boto3's waiters and tarry.aws's, built from the same botocore models, on one moto server.

Every scenario runs both on twin resources at once (``aws_side_by_side``); both must end
as the scenario says, and where they agree, on the same acceptor. If ``TARRY_AWS_REPORT``
names a file, the measured outcomes, polls and times are written there as a Markdown
table (docs/interop-aws.md is made from it).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .aws_moto import MotoServer
from .aws_scenarios import SCENARIOS, Scenario
from .aws_side_by_side import Run, run_async_pair, run_pair

ASYNC_SCENARIOS = [
    s
    for s in SCENARIOS
    if s.id
    in {"transcription-job-completed", "dsql-cluster-not-exists", "ec2-terminated-instance-running"}
]


@pytest.fixture(scope="module")
def report() -> Iterator[list[str]]:
    """Rows of the results table, written to ``TARRY_AWS_REPORT`` at the end if it is set."""
    rows: list[str] = []
    yield rows
    path = os.environ.get("TARRY_AWS_REPORT")
    if path and rows:
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = [
            f"Measured {today}.",
            "",
            f"Each cell: outcome, polls, seconds to the end of the wait; median of {RUNS} runs "
            "(min-max).",
            "",
            "| scenario | driver | expected | boto3 | tarry |",
            "| --- | --- | --- | --- | --- |",
        ]
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(head + rows) + "\n")


RUNS = 3
"""Each scenario runs this many times, alternating which side starts first."""


def _summary(runs: list[Run]) -> str:
    outcomes = sorted({run.outcome for run in runs})
    polls = sorted(run.polls for run in runs)
    seconds = sorted(run.seconds for run in runs)
    middle = len(runs) // 2
    return (
        f"{'/'.join(outcomes)}, {polls[middle]} ({polls[0]}-{polls[-1]}), "
        f"{seconds[middle]:.2f} ({seconds[0]:.2f}-{seconds[-1]:.2f})"
    )


def _row(scenario: Scenario, driver: str, pairs: list[tuple[Run, Run]]) -> str:
    expected = scenario.expected
    if scenario.boto3_expected is not None:
        expected = f"{scenario.boto3_expected} (boto3), {scenario.expected} (tarry)"
    theirs = _summary([pair[0] for pair in pairs])
    ours = _summary([pair[1] for pair in pairs])
    return f"| {scenario.what} | {driver} | {expected} | {theirs} | {ours} |"


def _check(scenario: Scenario, theirs: Run, ours: Run) -> None:
    assert theirs.outcome == scenario.expected_boto3, f"boto3: {theirs.detail}"
    assert ours.outcome == scenario.expected, f"tarry: {ours.detail}"
    assert theirs.polls >= 1
    assert ours.polls >= 1
    if scenario.boto3_expected is None:
        assert theirs.matched == ours.matched, "the two waiters ended on different acceptors"
    if scenario.throttle_every and scenario.retries == 1:
        assert "ThrottlingException" in theirs.detail


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_boto3_and_tarry_waiters_reach_the_same_outcome(
    moto_server: MotoServer, scenario: Scenario, report: list[str]
) -> None:
    """Side by side on twin resources, boto3's waiter and tarry's end as expected."""
    pairs = []
    for run in range(RUNS):
        theirs, ours = run_pair(moto_server, scenario, tarry_first=run % 2 == 1)
        _check(scenario, theirs, ours)
        pairs.append((theirs, ours))
    report.append(_row(scenario, "boto3, threads", pairs))


@pytest.fixture
def anyio_backend() -> str:
    """aiobotocore runs on asyncio only (aiohttp), so these async tests do too."""
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", ASYNC_SCENARIOS, ids=[s.id for s in ASYNC_SCENARIOS])
async def test_aiobotocore_and_tarry_async_waiters_reach_the_same_outcome(
    moto_server: MotoServer, scenario: Scenario, report: list[str]
) -> None:
    """aiobotocore's own waiter and tarry.aws.async_waiter end alike on twin resources."""
    pairs = []
    for run in range(RUNS):
        theirs, ours = await run_async_pair(moto_server, scenario, tarry_first=run % 2 == 1)
        _check(scenario, theirs, ours)
        pairs.append((theirs, ours))
    report.append(_row(scenario, "aiobotocore, asyncio", pairs))
