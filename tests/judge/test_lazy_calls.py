"""Described calls (`submission.lazy`): a chain such as `Affine(W, b).forward(x)` made in the runner as one
request, with the values of the calls made one by one; a gradient check over one sends every perturbed
chain in one exchange; the objects it makes stay in the runner only as long as the request; a described
call is never a value on the judge's side."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from grader.judge.gradcheck import check_gradient, numeric_gradient
from grader.judge.proxy import RunnerSession, SubmissionProxy, evaluate, evaluate_many
from grader.judge.verdicts import NotRun, StudentError
from grader.runtime import wire
from grader.spec import Limits
from tests.conftest import runner_session

MODULE = '''
import weakref
import numpy as np

LIVE = weakref.WeakSet()

class Affine:
    def __init__(self, W, b):
        if W.ndim != 2:
            raise ValueError(f"W must be 2-D, got {W.ndim}-D")
        self.W, self.b = W, b
        LIVE.add(self)

    def forward(self, x):
        return np.tanh(x @ self.W + self.b)

class Chain:
    def __init__(self, layers):
        self.layers = layers

    def loss(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return float(np.sum(x ** 2))

def live():
    import gc
    gc.collect()
    return len(LIVE)
'''
NAMES = ["Affine", "Chain", "live", "absent"]
RNG = np.random.default_rng(3)
W, B, X, W2, B2 = (RNG.normal(size=s) for s in ((3, 4), (4,), (5, 3), (4, 2), (2,)))


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    with runner_session(tmp_path_factory.mktemp("lazy"), MODULE, NAMES, Limits(call_seconds=5.0)) as session:
        yield session, SubmissionProxy(session)


@pytest.fixture
def submission(parts):
    session, proxy = parts
    session.verdict = None
    return proxy


def exchanges(session: RunnerSession, monkeypatch) -> list[str]:
    """The label of every exchange the session makes from now on (one per round of frames)."""
    seen: list[str] = []
    original = session._exchange

    def counted(frames, label, **kwargs):
        seen.append(label)
        return original(frames, label, **kwargs)

    monkeypatch.setattr(session, "_exchange", counted)
    return seen


def test_a_described_chain_has_the_value_of_the_calls_made_one_by_one(submission):
    eager = submission.Chain([submission.Affine(W, B), submission.Affine(W2, B2)]).loss(X)
    lazy = evaluate(submission.lazy.Chain([submission.lazy.Affine(W, B), submission.lazy.Affine(W2, B2)]).loss(X))
    assert lazy == pytest.approx(eager, rel=1e-12)
    np.testing.assert_array_equal(evaluate(submission.lazy.Affine(W, B).forward(X)),
                                  submission.Affine(W, B).forward(X))


def test_a_described_call_may_be_an_argument_of_a_call_that_is_made(submission):
    chain = submission.Chain([submission.lazy.Affine(W, B), submission.lazy.Affine(W2, B2)])
    assert chain.loss(X) == pytest.approx(float(np.sum(np.tanh(np.tanh(X @ W + B) @ W2 + B2) ** 2)), rel=1e-12)


def test_a_gradient_check_over_described_calls_is_one_exchange(parts, submission, monkeypatch):
    session, _ = parts

    def net(make, v):
        return make.Chain([make.Affine(v, B), make.Affine(W2, B2)]).loss(X)

    seen = exchanges(session, monkeypatch)
    eager = numeric_gradient(lambda v: net(submission, v), W)
    assert len(seen) == 2 * W.size * 4  # three constructors and the loss, for each perturbed input
    seen.clear()
    lazy = numeric_gradient(lambda v: net(submission.lazy, v), W)
    assert seen == ["Chain().loss()"]
    np.testing.assert_array_equal(lazy, eager)


def test_check_gradient_reads_the_forward_value_of_a_described_call(submission):
    out = lambda v: submission.lazy.Affine(W, B).forward(v)  # noqa: E731
    dout = RNG.normal(size=(5, 4))
    dx = ((1 - np.tanh(X @ W + B) ** 2) * dout) @ W.T
    check_gradient(dx, out, X, "dx", upstream=dout, expected_value=float(np.sum(np.tanh(X @ W + B) * dout)))


def test_what_a_described_call_makes_does_not_outlive_its_request(submission):
    before = submission.live()
    evaluate_many([submission.lazy.Affine(W, B).forward(X) for _ in range(5)])
    assert submission.live() == before
    kept = [submission.Affine(W, B) for _ in range(2)]  # a call that is made keeps its object as a handle
    assert submission.live() == before + len(kept)


def test_an_error_inside_a_described_call_is_the_student_s(submission):
    with pytest.raises(StudentError) as raised:
        evaluate(submission.lazy.Affine(np.ones(3), B).forward(X))
    assert raised.value.type_name == "ValueError"
    assert "W must be 2-D, got 1-D" in str(raised.value) and "Affine().forward()" in str(raised.value)


def test_a_function_the_submission_lacks_is_not_run_even_inside_a_description(submission):
    with pytest.raises(NotRun, match=r"does not define absent\(\)"):
        evaluate(submission.lazy.Chain([submission.lazy.absent()]).loss(X))


def test_a_name_outside_the_api_cannot_be_described(submission):
    with pytest.raises(AttributeError, match="not in the assignment's"):
        submission.lazy.helper


@pytest.mark.parametrize("use", [bool, np.asarray, float, len, lambda v: v == 1, lambda v: v()])
def test_a_described_call_is_not_a_value(submission, use):
    with pytest.raises(TypeError, match="described call"):
        use(submission.lazy.Affine(W, B).forward(X))


def test_a_reply_that_holds_a_described_call_is_refused():
    """Only the judge describes calls: the judge's decoding of a reply has no way to make one."""
    tree, blobs = wire.encode(wire.Call({"name": "live"}, (), {}))
    with pytest.raises(wire.WireError, match="unknown or unexpected tag"):
        wire.decode(tree, blobs, on_handle=lambda tag: tag)
