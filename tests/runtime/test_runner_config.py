"""How a runner gets its config: from its command line, or, warm, as the judge's first frame in time."""

import os
import signal
import time

import pytest

from grader.runtime import wire
from grader.runtime.runner import _config


@pytest.fixture
def pipe_channel():
    """A channel whose reading end is the runner's; the judge's writing end is returned beside it."""
    read_fd, write_fd = os.pipe()
    channel = wire.Channel(read_fd, write_fd, max_frame_bytes=1 << 20)
    judge = wire.Channel(read_fd, write_fd, max_frame_bytes=1 << 20)
    yield channel, judge
    for fd in (read_fd, write_fd):
        os.close(fd)


def test_a_cold_runners_config_is_its_command_line(pipe_channel):
    channel, _ = pipe_channel
    given = {"workspace": "/w", "api": {}, "seed": 1, "scratch": "/tmp"}
    assert _config(given, channel) is given


def test_a_warm_runner_takes_the_judges_first_frame_within_its_wait(pipe_channel):
    channel, judge = pipe_channel
    judge.send({"workspace": "/w", "seed": 7})
    assert _config({"warm": True, "preload": ["json"], "wait": 5}, channel) == {"workspace": "/w", "seed": 7}


def test_a_warm_runner_no_judge_writes_to_ends_quietly_after_its_wait(pipe_channel):
    """Its container then ends too, instead of idling on a shelf or in a pool until its lifetime cap."""
    channel, _ = pipe_channel

    def waited_too_long(*_):
        raise AssertionError("the warm runner still waits for a judge 10 s after its wait of 0.3 s")

    previous = signal.signal(signal.SIGALRM, waited_too_long)
    signal.alarm(10)
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit) as ended:
            _config({"warm": True, "preload": [], "wait": 0.3}, channel)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert ended.value.code == 0
    assert 0.25 <= time.monotonic() - started < 5
