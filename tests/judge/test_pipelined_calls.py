"""A gradient check's calls travel ahead of their replies (`ProxyFunction.many`): the same values in the
same order as one call at a time, each call still under its own time limit and checks, and a failure
part-way leaves the channel in step for the next call."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from grader.judge import proxy
from grader.judge.gradcheck import check_gradient, numeric_gradient, partial
from grader.judge.proxy import RunnerSession, SubmissionProxy
from grader.judge.verdicts import CallTimeout, MutatedArgument, StudentError
from grader.spec import Limits
from tests.conftest import runner_session

MODULE = '''
import time
import numpy as np

CALLS = []

def loss(x, w):
    CALLS.append(float(x.sum()))
    return float(np.sum(np.tanh(x @ w) ** 2)), "grads"

def layer(x):
    return np.tanh(x) * 3

def picky(x):
    CALLS.append(float(x.sum()))
    if len(CALLS) % 4 == 3:
        raise ValueError(f"call {len(CALLS)}")
    return float(x.sum())

def slow_after(x):
    CALLS.append(1)
    if len(CALLS) == 3:
        raise ValueError("third")
    if len(CALLS) > 3:
        time.sleep(60)
    return 1.0

def nap(x):
    CALLS.append(1)
    if len(CALLS) == 5:
        time.sleep(60)
    return 1.0

def shifts(x):
    CALLS.append(1)
    if len(CALLS) == 4:
        x -= 1
    return float(x.sum())

def count():
    return len(CALLS)
'''
NAMES = ["loss", "layer", "picky", "slow_after", "nap", "shifts", "count"]


@pytest.fixture
def session(tmp_path: Path):
    with runner_session(tmp_path, MODULE, NAMES, Limits(call_seconds=2.0)) as session:
        yield session


def traced(session: RunnerSession, events: list[str]) -> None:
    """Note each frame the judge writes and each reply it reads, in order."""
    session._ensure_running()
    channel = session.process.channel
    send, receive = channel.send_frame, channel.receive
    channel.send_frame = lambda *a, **k: (events.append("send"), send(*a, **k))[1]
    channel.receive = lambda *a, **k: (events.append("receive"), receive(*a, **k))[1]


def test_a_gradient_check_sends_its_calls_ahead_and_gets_the_same_numbers(session):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    events: list[str] = []
    traced(session, events)
    submission = SubmissionProxy(session)
    through_runner = numeric_gradient(partial(submission.loss, (x, w), 1, pick=0), w)
    in_process = numeric_gradient(lambda v: float(np.sum(np.tanh(x @ v) ** 2)), w)
    assert np.array_equal(through_runner, in_process)  # the same inputs, the same floats
    assert events.count("send") == events.count("receive") == 2 * w.size
    assert events.index("receive") > 8  # many calls were on their way before the first reply
    upstream = rng.normal(size=(3, 4))
    assert np.array_equal(numeric_gradient(submission.layer, x, upstream),
                          numeric_gradient(lambda v: np.tanh(v) * 3, x, upstream))
    check_gradient(np.zeros_like(w), partial(submission.loss, (x, w), 1, pick=0), w, "dw",
                   reference=lambda v: 0.0)  # the reference's numbers, computed here: no call at all


def test_frames_past_the_byte_budget_go_one_at_a_time(session, monkeypatch):
    monkeypatch.setattr(proxy, "PIPELINE_BYTES", 100)
    events: list[str] = []
    traced(session, events)
    values = SubmissionProxy(session).layer.many([(np.ones(3),), (np.zeros(3),), (np.ones(3),)])
    assert [v.tolist() for v in values] == [[np.tanh(1) * 3] * 3, [0.0] * 3, [np.tanh(1) * 3] * 3]
    assert events == ["send", "receive"] * 3


def test_an_error_part_way_is_the_test_s_and_the_next_call_gets_its_own_reply(session):
    submission = SubmissionProxy(session)
    with pytest.raises(StudentError, match="call 3"):
        submission.picky.many([(np.full(2, float(i)),) for i in range(8)])
    assert session.verdict is None  # a student's exception is not sticky: the test may expect it
    assert submission.count() == 8  # the calls sent ahead ran, and their replies were read and dropped
    assert submission.picky(np.ones(2)) == 2.0


def test_a_call_sent_ahead_that_hangs_stops_the_runner_without_hiding_the_first_failure(session):
    submission = SubmissionProxy(session)
    started = time.monotonic()
    with pytest.raises(StudentError, match="third"):
        submission.slow_after.many([(np.ones(1),)] * 5)
    assert 2.0 <= time.monotonic() - started < 10  # one call's limit for the hung reply, then a kill
    assert session.process is None and session.verdict is None
    assert submission.count() == 0  # a new runner


def test_each_call_has_its_own_time_limit_and_a_hang_is_a_timeout(session):
    submission = SubmissionProxy(session)
    with pytest.raises(CallTimeout, match=r"nap\(\) did not return within 2 s"):
        submission.nap.many([(np.ones(1),)] * 8)
    assert isinstance(session.verdict, CallTimeout)  # sticky for the rest of the test


def test_a_call_that_changes_its_argument_fails_at_that_call(session):
    submission = SubmissionProxy(session)
    with pytest.raises(MutatedArgument, match="x"):
        submission.shifts.many([(np.ones(2),)] * 6)
    session.begin_test("next", None)  # a new test: the channel is in step
    assert submission.count() == 6
