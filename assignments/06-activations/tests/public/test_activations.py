"""Public tests for the activations assignment: run them with `grader check activations`.

Forward functions are compared with known values; backward functions with numerical gradients of your
own forward functions; initialisers with the spread they should have.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_params, assert_shape
from grader.judge.gradcheck import check_gradient, numeric_gradient


@pytest.mark.points(2)
def test_sigmoid_forward(submission):
    x = np.array([-2.0, 0.0, 1.0, 3.0])
    expected = np.array([0.11920292202, 0.5, 0.73105857863, 0.95257412682])
    assert_close(submission.sigmoid_forward(x), expected, name="sigmoid", rtol=1e-9)
    assert_close(submission.sigmoid_forward(np.array([-1000.0, 1000.0])), np.array([0.0, 1.0]),
                 name="sigmoid at -1000 and 1000")


@pytest.mark.points(2)
def test_sigmoid_backward(submission):
    rng = np.random.default_rng(61)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    dx = submission.sigmoid_backward(dout, x)
    check_gradient(dx, submission.sigmoid_forward, x, "dx", upstream=dout,
                   expected_value=-1.92022185996, what="sigmoid_forward()")


@pytest.mark.points(1)
def test_tanh_forward(submission):
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    expected = np.array([-0.76159415596, 0.0, 0.46211715726, 0.96402758008])
    assert_close(submission.tanh_forward(x), expected, name="tanh", rtol=1e-9)


@pytest.mark.points(2)
def test_tanh_backward(submission):
    rng = np.random.default_rng(62)
    x, dout = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    dx = submission.tanh_backward(dout, x)
    check_gradient(dx, submission.tanh_forward, x, "dx", upstream=dout,
                   expected_value=-2.71502939755, what="tanh_forward()")


@pytest.mark.points(1)
def test_relu_forward(submission):
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])
    assert_close(submission.relu_forward(x), np.array([[0.0, 0.0, 0.0], [0.5, 1.0, 3.0]]), name="relu")


@pytest.mark.points(2)
def test_relu_backward(submission):
    rng = np.random.default_rng(63)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    dx = submission.relu_backward(dout, x)
    check_gradient(dx, submission.relu_forward, x, "dx", upstream=dout,
                   expected_value=5.79698971907, what="relu_forward()")


@pytest.mark.points(2)
def test_leaky_relu_forward(submission):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    assert_close(submission.leaky_relu_forward(x, 0.1), np.array([-0.2, -0.05, 0.0, 0.5, 3.0]),
                 name="leaky relu with alpha = 0.1")


@pytest.mark.points(2)
def test_leaky_relu_backward(submission):
    rng = np.random.default_rng(64)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    dx = submission.leaky_relu_backward(dout, x, 0.2)
    check_gradient(dx, lambda v: submission.leaky_relu_forward(v, 0.2), x, "dx", upstream=dout,
                   expected_value=2.26213001304, what="leaky_relu_forward()")


@pytest.mark.points(2)
@pytest.mark.parametrize("kind", ["xavier", "he"])
def test_initialisers(submission, kind):
    fan_in, fan_out = 300, 200
    w = getattr(submission, f"{kind}_init")(fan_in, fan_out, 0)
    assert_shape(w, (fan_in, fan_out), name=f"{kind}_init")
    std = np.sqrt(2 / (fan_in + fan_out)) if kind == "xavier" else np.sqrt(2 / fan_in)
    assert abs(w.std() - std) < 0.05 * std, f"{kind}_init: std {w.std():.4f}, expected about {std:.4f}"


@pytest.mark.points(3)
def test_collapse_linear(submission, rng):
    weights = [rng.normal(size=(3, 5)), rng.normal(size=(5, 4)), rng.normal(size=(4, 2))]
    biases = [rng.normal(size=5), rng.normal(size=4), rng.normal(size=2)]
    W, b = submission.collapse_linear(weights, biases)
    assert_params({"W": W, "b": b}, {"W": (3, 2), "b": (2,)}, "collapse_linear's result")
    x = rng.normal(size=(6, 3))
    h = x
    for w, c in zip(weights, biases):
        h = h @ w + c
    assert_close(x @ W + b, h, name="x @ W + b (should equal the stack's output)")


@pytest.mark.points(3)
def test_layer_gradient_norms_one_layer(submission, rng):
    x, w, dout = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    norms = submission.layer_gradient_norms(x, [w], "tanh", dout)
    assert_shape(norms, (1,), name="norms")
    dw = numeric_gradient(lambda v: np.tanh(x @ v), w, dout)  # the layer's own tanh, not yours
    assert_close(norms[0], float(np.linalg.norm(dw)), name="norms[0]", rtol=1e-5)


@pytest.mark.points(2)
def test_sigmoid_gradients_vanish(submission, rng):
    weights = [rng.normal(size=(32, 32)) / np.sqrt(32) for _ in range(6)]
    x, dout = rng.normal(size=(16, 32)), rng.normal(size=(16, 32))
    norms = submission.layer_gradient_norms(x, weights, "sigmoid", dout)
    assert_shape(norms, (6,), name="norms")
    assert norms[0] < norms[-1] / 50, f"norms {np.round(norms, 5).tolist()}: through six sigmoid layers " \
                                      "the first layer's gradient should be far smaller than the last's"
