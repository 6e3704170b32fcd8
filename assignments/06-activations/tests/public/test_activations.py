"""Public tests for the activations assignment: run them with `grader check activations`.

Forward functions are compared with known values; backward functions with numerical gradients of your
own forward functions; initialisers with the spread they should have.
"""

import numpy as np
import pytest

from grader.judge.checks import CheckFailed, assert_all, assert_close, assert_params, assert_shape
from grader.judge.gradcheck import check_gradient, numeric_gradient, partial


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
    check_gradient(dx, partial(submission.leaky_relu_forward, (x, 0.2), 0), x, "dx", upstream=dout,
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


# The universal approximation experiment: a network with one hidden layer on a 1-D input.
SMALL_NET = {"W1": np.array([[1.0, -2.0, 0.5]]), "b1": np.array([0.5, 1.0, -1.0]),
             "W2": np.array([[1.5], [-0.5], [2.0]]), "b2": np.array([0.25])}


def net_1d(params, x, f):
    """The judge's own forward pass of a 1-D net (not yours): f(x W1 + b1) W2 + b2."""
    return (f(x[:, None] @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"])[:, 0]


def held_out_grid(low, high, n=64):
    """n training points on [low, high], and 999 points between them that training never sees."""
    x = np.linspace(low, high, n)
    return x, np.linspace(low, high, 1001)[1:-1]


def params_of_width(params, width, name):
    try:
        return assert_params(params, {"W1": (1, width), "b1": (width,), "W2": (width, 1), "b2": (1,)}, name)
    except CheckFailed as failure:
        if "NaN or infinite" not in str(failure):
            raise
        raise CheckFailed(f"{str(failure).split(' Hint:')[0]} Hint: the training diverged: check loss_1d's "
                          "gradients and the sign of each step, keep the non-linearity in the hidden layer, "
                          "and start from moderate weights") from None


@pytest.mark.points(2)
def test_predict_1d(submission):
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    hints = {"the hidden layer needs its non-linearity f(x W1 + b1)": np.array([-5.0, -1.5, 0.25, 5.5]),
             "the output layer is linear: apply the activation to the hidden layer only, not to h @ W2 + b2":
                 np.array([-0.991875917, -0.744637798, 0.121490252, 0.977023997])}
    assert_close(submission.predict_1d(SMALL_NET, x), np.array([-2.75099962, -0.960809654, 0.12209332916,
                                                                2.2274488241]), name="y_hat (tanh)", rtol=1e-8,
                 hints=hints)
    assert_close(submission.predict_1d(SMALL_NET, x, "relu"), np.array([-1.25, 0.5, 1.75, 4.0]),
                 name="y_hat (relu)")


@pytest.mark.points(3)
def test_loss_1d_gradients(submission):
    rng = np.random.default_rng(65)
    params = {"W1": rng.normal(size=(1, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 1)),
              "b2": rng.normal(size=1)}
    x = rng.normal(size=8) * 2
    y = np.sin(x)
    _, grads = submission.loss_1d(params, x, y)
    with assert_all() as check:
        for key in ("W1", "b1", "W2", "b2"):
            check(check_gradient, grads[key], partial(submission.loss_1d, (params, x, y), 0, key, pick=0),
                  params[key], f"grads['{key}']", expected_value=7.1694268488, what="the loss of loss_1d()")


@pytest.mark.points(3)
def test_fit_1d_approximates_sin(submission, measured):
    x, grid = held_out_grid(-np.pi, np.pi)
    params, _ = submission.fit_1d(x, np.sin(x), 32, 2000, 0.02, 0)
    params = params_of_width(params, 32, "fit_1d's params")
    error = measured.record("largest error on 999 points between the training points",
                            float(np.max(np.abs(net_1d(params, grid, np.tanh) - np.sin(grid)))))
    assert error < 0.1, f"32 tanh units trained 2000 steps (lr 0.02) miss sin by up to {error:.3f} between " \
                        "the training points; they should stay within 0.1"


@pytest.mark.points(3)
def test_error_falls_with_width(submission, measured):
    x, grid = held_out_grid(-np.pi, np.pi)
    errors = submission.error_by_width(x, np.sin(2 * x), grid, np.sin(2 * grid), [1, 4, 32], 2000, 0.02, 0)
    assert_shape(errors, (3,), name="errors")
    for width, error in zip((1, 4, 32), np.asarray(errors, dtype=float)):
        measured.record(f"largest error of width {width}", float(error))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.3, \
        f"errors {np.round(errors, 3).tolist()} for widths 1, 4, 32 on sin(2x): they should fall as the " \
        "width grows, below 0.3 at width 32 (NaN: the training diverged)"


@pytest.mark.points(2)
def test_linear_network_is_the_least_squares_line(submission):
    x = np.linspace(-np.pi, np.pi, 64)
    params, _ = submission.fit_1d(x, np.sin(x), 32, 1000, 0.002, 0, "linear")
    params = params_of_width(params, 32, "fit_1d's params")
    slope, intercept = (params["W1"] @ params["W2"])[0, 0], (params["b1"] @ params["W2"] + params["b2"])[0]
    # The least-squares line through (x, sin x): np.polyfit(x, np.sin(x), 1).
    assert abs(slope - 0.289767108) < 1e-4 and abs(intercept) < 1e-4, \
        f"your linear network of width 32 computes {slope:.4f} x + {intercept:.4f}: without a non-linearity " \
        "it collapses to one line, and gradient descent should find the best one, 0.2898 x + 0"
