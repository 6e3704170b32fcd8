"""Arguments changed in place: the runner sees which arrays (or containers) a call changed, and the judge
fails the test with a message naming the function and the argument, unless `[api] mutates` allows it."""

import numpy as np
import pytest

from grader.pipeline.grade import grade
from grader.runtime import runner
from grader.errors import SpecError
from grader.spec import load_spec


def seen(function, *args, **kwargs):
    """What the runner would report for one call of `function` (the runner's own code, in this process)."""
    return runner.call_watched(function, args, kwargs)[1]


def shift(scores, y):
    scores -= scores.max(axis=1, keepdims=True)
    return scores


def pure(scores, y):
    return scores - scores.max(axis=1, keepdims=True)


def test_a_top_level_array_changed_in_place_is_named_by_its_parameter():
    scores = np.array([[1.0, 2.0], [3.0, np.nan]])
    assert seen(shift, scores, np.array([0, 1])) == ["scores"]
    assert seen(pure, np.array([[1.0, 2.0], [3.0, np.nan]]), y=np.array([0, 1])) == []  # NaN == NaN here


def test_arrays_inside_dicts_lists_and_tuples_and_replaced_entries():
    def step(params, grads, lr):
        params["W1"] -= lr * grads[0]
        return params

    def rebind(params):
        params["b1"] = params["b1"] + 1  # the array is new, but the caller's dict changed
        return params

    def nested(pair, *rest):
        pair[1][0] = 5.0
        rest[0].append(1)

    params = {"W1": np.ones(3), "b1": np.zeros(3)}
    assert seen(step, params, (np.ones(3), np.ones(3)), 0.1) == ["params['W1']"]
    assert seen(rebind, {"W1": np.ones(3), "b1": np.zeros(3)}) == ["params"]
    assert seen(nested, (np.zeros(2), np.zeros(2)), []) == ["pair[1]", "rest[0]"]


def test_a_reshaped_array_and_a_large_array_past_the_copy_budget(monkeypatch):
    def reshape(x):
        x.shape = (x.size,)

    def scale(x):
        x *= 2

    assert seen(reshape, np.zeros((2, 2))) == ["x"]
    monkeypatch.setattr(runner, "COPY_BYTES", 0)  # hashed instead of copied
    monkeypatch.setattr(runner, "SAMPLE_ITEMS", 64)
    assert seen(scale, np.arange(10_000.0)) == ["x"]
    assert seen(pure, np.arange(10_000.0).reshape(100, 100), None) == []


class Layer:
    def __init__(self, weights, bias=None):
        weights *= 2

    def forward(self, x, cache):
        cache.append(x)
        return x


def test_a_method_and_a_constructor_name_their_parameters_on_every_call():
    """Their signatures are worked out once (per method's function, per class) and hold for every
    instance: a bound method is a new object each call, and its first parameter is already bound."""
    for _ in range(2):
        assert seen(Layer, np.ones(2)) == ["weights"]
        assert seen(Layer(np.ones(2)).forward, np.ones(2), cache=[]) == ["cache"]
    assert list(runner.name_arguments(Layer(np.ones(1)).forward, [1, 2], {}).values()) == ["x", "cache"]


def test_arguments_by_keyword_in_any_order_and_extra_positionals_are_named_by_the_signature():
    def step(w, dw, config=None, *more, **options):
        dw *= 0
        config["t"] = 1
        more[1][0] = 1.0
        options["cache"].append(1)

    changes = seen(step, np.ones(2), np.ones(2), {}, np.zeros(1), np.zeros(1), cache=[])
    assert changes == ["dw", "config", "more[1]", "cache"]
    assert seen(lambda w, dw, config: step(w, dw, config, 0, np.zeros(1), cache=[]),
                np.ones(2), config={}, dw=np.ones(2)) == ["config", "dw"]  # in the order of the call


def test_a_function_without_a_signature_gets_positional_labels():
    assert runner.name_arguments(max, [np.zeros(1), np.ones(1)], {})[1] == "argument 2"


TOML = '''
title = "Demo"
points = 6
[api]
"m.py" = ["shift", "pure", "accumulate"]
mutates = ["accumulate"]
'''

SOURCE = '''
def shift(scores):
    scores -= scores.max(axis=1, keepdims=True)
    return scores
def pure(scores):
    return scores - scores.max(axis=1, keepdims=True)
def accumulate(total, x):
    total += x
    return total
'''

TESTS = '''
import numpy as np
import pytest
S = np.array([[1.0, 3.0], [2.0, 0.0]])
@pytest.mark.points(2)
def test_shift(submission):
    assert np.allclose(submission.shift(S), [[-2, 0], [0, -2]])
@pytest.mark.points(2)
def test_pure(submission):
    assert np.allclose(submission.pure(S), [[-2, 0], [0, -2]])
@pytest.mark.points(2)
def test_accumulate_may_update_in_place(submission):
    assert np.allclose(submission.accumulate(np.ones(2), np.ones(2)), 2)
'''


def make(tmp_path, toml=TOML):
    root = tmp_path / "assignments" / "01-demo"
    (root / "tests" / "public").mkdir(parents=True)
    (root / "tests" / "hidden").mkdir()
    (root / "tests" / "public" / "test_m.py").write_text(TESTS)
    (root / "assignment.toml").write_text(toml)
    (tmp_path / "solutions" / "01-demo").mkdir(parents=True)
    (tmp_path / "solutions" / "01-demo" / "m.py").write_text(SOURCE)
    return load_spec(root, course=tmp_path)


def test_a_graded_call_that_changes_its_argument_fails_with_the_argument_named(tmp_path):
    spec = make(tmp_path)
    assert spec.mutates == ("accumulate",) and "mutates" not in spec.api
    report = grade(spec, spec.solution, isolate=False)
    outcome = {t["name"].rsplit("::", 1)[-1]: t for t in report["tests"]}
    assert report["score"] == 4, report
    assert outcome["test_shift"]["status"] == "failed"
    assert outcome["test_shift"]["message"] == (
        "shift() changed its argument `scores` in place; return new arrays instead, "
        "the caller's data must stay as it was")
    assert outcome["test_pure"]["status"] == outcome["test_accumulate_may_update_in_place"]["status"] == "passed"


@pytest.mark.parametrize("line, message", [
    ('mutates = ["nope"]', "[api] mutates names nope, which no [api] file lists"),
    ('mutates = "shift"', "[api] mutates must be a list of function names"),
])
def test_a_bad_mutates_key_is_a_spec_error(tmp_path, line, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make(tmp_path, TOML.replace('mutates = ["accumulate"]', line))

