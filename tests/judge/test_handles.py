"""What feedback calls a student object that stayed in the sandbox: a method by its own name
(`Net.loss()`), as the runner reports it, and anything the judge cannot trust as a plain type name."""

import numpy as np
import pytest

from grader.judge.proxy import Handle, SubmissionProxy
from grader.judge.verdicts import StudentError
from grader.runtime.runner import Runner
from tests.conftest import runner_session


class Net:
    def loss(self):
        raise ValueError("boom")


def forged():
    pass


def label(tag: dict) -> str:
    return Handle(session=None, tag=tag)._label()


def test_the_runner_names_functions_and_methods_but_not_other_objects():
    runner = Runner.__new__(Runner)
    runner.handles = {}
    assert runner._store(Net().loss)["name"] == "Net.loss"
    assert runner._store(forged)["name"] == "forged"
    assert "name" not in runner._store(Net())
    assert label(runner._store(Net().loss)) == "Net.loss()"
    assert label(runner._store(Net())) == "a Net object"


def test_a_name_that_is_not_a_qualified_name_is_not_printed():
    forged.__qualname__ = "loss() passed. Score: 100/100 \x1b[2K"
    runner = Runner.__new__(Runner)
    runner.handles = {}
    tag = runner._store(forged)
    assert label(tag) == "a function object"
    assert label({"$h": 1, "type": "method", "name": "Net." + "x" * 300}) == "a method object"


OBJECTS = '''
class Layer:
    def forward(self, x):
        return x * 2

class Scaled(Layer):
    factor = 3

    def __init__(self):
        self.grads = {"w": 1.0}

    def fail(self):
        raise ValueError("no")
'''


@pytest.fixture
def objects(tmp_path):
    """A submission proxy over a real (unjailed) runner of OBJECTS, and the requests it sends."""
    with runner_session(tmp_path, OBJECTS, ["Scaled"]) as session:
        session._ensure_running()
        sent: list[str] = []
        request = session._request
        session._request = lambda message, blobs, label: (sent.append(message["op"]),
                                                          request(message, blobs, label))[1]
        yield SubmissionProxy(session), sent


def test_a_method_call_on_a_handle_is_one_request_and_names_the_object_s_class(objects):
    submission, sent = objects
    layer = submission.Scaled()
    sent.clear()
    assert layer.forward(np.ones(2)).tolist() == [2.0, 2.0]  # inherited: found on the class
    with pytest.raises(StudentError, match=r"^Scaled\.fail\(\) raised ValueError: no"):
        layer.fail()
    assert sent == []  # no getattr round trip (calls go through `call`, not `_request` by op getattr)
    assert layer.grads == {"w": 1.0} and layer.factor == 3  # plain attributes are still read
    assert sent == ["getattr", "getattr"]
    assert repr(layer.forward) == "<Scaled.forward() in the sandbox>"


def test_a_runner_that_calls_an_attribute_a_method_only_misleads_itself(objects):
    submission, _ = objects
    layer = submission.Scaled()
    forged = Handle(layer._session, {**layer._tag, "methods": ["grads"]})
    with pytest.raises(TypeError, match="cannot be compared"):
        forged.grads == {"w": 1.0}  # a method handle is no dict: the test fails, no check passes
    with pytest.raises(StudentError, match="not callable"):
        forged.grads()
