"""What feedback calls a student object that stayed in the sandbox: a method by its own name
(`Net.loss()`), as the runner reports it, and anything the judge cannot trust as a plain type name."""

from grader.judge.proxy import Handle
from grader.runtime.runner import Runner


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
