"""A runner whose channel closed is most likely ending by itself (grader.judge.proxy): the judge gives it
a moment to, so that how it ended is what it did, never "stopped by the grader" from a kill that raced
its exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judge.proxy import ENDING_GRACE_SECONDS, SubmissionProxy
from grader.judge.verdicts import RunnerDied
from tests.conftest import runner_session

# The channel closes at once; the process ends a moment later, with a code of its own.
MODULE = '''
import os, time

def leave(seconds):
    os.closerange(3, 4096)
    time.sleep(seconds)
    os._exit(3)
'''


@pytest.fixture
def session(tmp_path: Path):
    with runner_session(tmp_path, MODULE, ["leave"]) as session:
        yield session


def test_a_runner_that_ends_after_closing_its_channel_is_described_by_its_own_exit(session):
    with pytest.raises(RunnerDied, match="exited with code 3"):
        SubmissionProxy(session).leave(0.3)


def test_one_that_lives_on_after_closing_its_channel_is_killed_after_the_grace(session):
    with pytest.raises(RunnerDied) as died:
        SubmissionProxy(session).leave(ENDING_GRACE_SECONDS + 30)
    assert "exited with code 3" not in str(died.value)
