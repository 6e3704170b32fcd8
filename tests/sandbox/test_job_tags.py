"""A cluster job names the sandbox its step runs in, so a worker with another one refuses it: the torch
step's tag is the torch image's (or the interpreter with torch), never the numpy image's."""

import importlib.util
import sys

from grader.pipeline.job import sandbox_tag
from grader.sandbox.image import image_tag
from grader.sandbox.interpreter import runner_interpreter


def test_docker_tag_follows_what_the_step_needs():
    assert sandbox_tag("docker") == image_tag("numpy")
    assert sandbox_tag("docker", ("torch",)) == image_tag("torch") != image_tag("numpy")


def test_local_tag_names_the_interpreter_that_runs_a_torch_step():
    plain = sandbox_tag("local")
    assert plain.startswith("local:python") and "numpy" in plain
    runner = runner_interpreter(("torch",)).executable
    if runner == sys.executable:  # the grader's own Python has torch: one environment for every step
        assert importlib.util.find_spec("torch") is not None
        assert sandbox_tag("local", ("torch",)) == plain
    else:
        assert sandbox_tag("local", ("torch",)) == f"{plain}; torch runner {runner}"
