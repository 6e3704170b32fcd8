"""Public tests for the backprop assignment: run them with `grader check backprop`.

Gradients are checked against numerical gradients of your own forward functions, after your forward
value at the same inputs has been checked against the right one (stated in each test): a wrong forward
pass is blamed on the forward pass, never on the gradient.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close, assert_params, assert_shape
from grader.judge.gradcheck import check_gradient, partial

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])
# The contract of train_xor's result: 2 inputs, a hidden width H of your choice, 2 classes.
XOR_PARAMS = {"W1": (2, "H"), "b1": ("H",), "W2": ("H", 2), "b2": (2,)}


def small_affine():
    x = np.linspace(-0.5, 0.4, num=6).reshape(2, 3)
    w = np.linspace(-0.2, 0.3, num=12).reshape(3, 4)
    b = np.linspace(-0.3, 0.1, num=4)
    return x, w, b


@pytest.mark.points(3)
def test_affine_forward(submission):
    x, w, b = small_affine()
    expected = np.array([[-0.2170909091, -0.1273939394, -0.0376969697, 0.052],
                         [-0.2465454545, -0.0832121212, 0.0801212121, 0.2434545455]])
    assert_close(submission.affine_forward(x, w, b), expected, name="out", rtol=1e-8)


@pytest.mark.points(4)
def test_affine_backward(submission):
    rng = np.random.default_rng(51)
    x, w, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    dout = rng.normal(size=(3, 5))
    dx, dw, db = submission.affine_backward(dout, x, w, b)
    with assert_all() as check:
        for at, grad, name in ((0, dx, "dx"), (1, dw, "dw"), (2, db, "db")):
            check(check_gradient, grad, partial(submission.affine_forward, (x, w, b), at), (x, w, b)[at], name,
                  upstream=dout, expected_value=-1.42893727932, what="affine_forward()")


@pytest.mark.points(2)
def test_relu_forward(submission):
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])
    assert_close(submission.relu_forward(x), np.array([[0, 0, 0], [0.5, 1.0, 3.0]]), name="out")


@pytest.mark.points(2)
def test_relu_backward(submission):
    rng = np.random.default_rng(52)
    x = rng.normal(size=(4, 5))
    dout = rng.normal(size=(4, 5))
    dx = submission.relu_backward(dout, x)
    check_gradient(dx, submission.relu_forward, x, "dx", upstream=dout, expected_value=-4.33818754263,
                   what="relu_forward()")


@pytest.mark.points(2)
def test_softmax_loss_uniform_scores(submission):
    loss, dscores = submission.softmax_loss(np.zeros((5, 10)), np.arange(5))
    assert_close(loss, np.log(10), name="loss with all scores equal (should be log C)")
    assert_shape(dscores, (5, 10), name="dscores")


@pytest.mark.points(3)
def test_softmax_loss_gradient(submission):
    rng = np.random.default_rng(53)
    scores, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    _, dscores = submission.softmax_loss(scores, y)
    check_gradient(dscores, partial(submission.softmax_loss, (scores, y), 0, pick=0), scores, "dscores",
                   expected_value=1.70820331099, what="the loss of softmax_loss()", batch_size=6)


@pytest.mark.points(3)
def test_two_layer_gradients(submission):
    rng = np.random.default_rng(54)
    params = {"W1": rng.normal(size=(3, 6)), "b1": rng.normal(size=6),
              "W2": rng.normal(size=(6, 4)), "b2": rng.normal(size=4)}
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 4, size=5)
    _, grads = submission.two_layer_loss(params, X, y)
    for key in ("W1", "b1", "W2", "b2"):
        check_gradient(grads[key], partial(submission.two_layer_loss, (params, X, y), 0, key, pick=0),
                       params[key], f"grads['{key}']", expected_value=7.5513791664,
                       what="the loss of two_layer_loss()", batch_size=5)


@pytest.mark.points(3)
def test_train_xor(submission):
    params = assert_params(submission.train_xor(0), XOR_PARAMS, "train_xor's params")
    hidden = relu(XOR_X @ params["W1"] + params["b1"])
    predicted = (hidden @ params["W2"] + params["b2"]).argmax(axis=1)
    assert np.array_equal(predicted, XOR_Y), f"the trained net predicts {predicted.tolist()} for XOR, " \
                                             f"expected {XOR_Y.tolist()}"


def relu(x):
    return np.maximum(0.0, x)
