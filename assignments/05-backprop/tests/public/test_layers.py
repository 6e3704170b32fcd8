"""Public tests for the backprop assignment: run them with `grader check backprop`.

Gradients are checked against numerical gradients of your own forward functions, after your forward
value at the same inputs has been checked against the right one (stated in each test): a wrong forward
pass is blamed on the forward pass, never on the gradient. The layer objects of part 2 are checked the
same way, through their forward and backward methods; your network's loss is also recomputed here with
plain numpy from its own params.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_all, assert_close, assert_params, assert_shape
from grader.judge.gradcheck import assert_gradient, check_gradient, numeric_gradient, partial

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
def test_train_xor(submission, measured):
    params = assert_params(submission.train_xor(0), XOR_PARAMS, "train_xor's params")
    hidden = relu(XOR_X @ params["W1"] + params["b1"])
    scores = hidden @ params["W2"] + params["b2"]
    measured.record("final loss on XOR", mean_cross_entropy(scores, XOR_Y))
    predicted = scores.argmax(axis=1)
    assert np.array_equal(predicted, XOR_Y), f"the trained net predicts {predicted.tolist()} for XOR, " \
                                             f"expected {XOR_Y.tolist()}"


# -- part 2: layers as objects -------------------------------------------------------------------


@pytest.mark.points(3)
def test_affine_layer(submission):
    rng = np.random.default_rng(55)
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    dout = rng.normal(size=(4, 5))
    layer = submission.Affine(W, b)
    layer.forward(x)
    dx = layer.backward(dout)
    # A fresh layer per perturbed input, each chain described (lazy) so that a check's calls go together.
    forwards = {"dx": lambda v: submission.lazy.Affine(W, b).forward(v),
                "layer.dW": lambda v: submission.lazy.Affine(v, b).forward(x),
                "layer.db": lambda v: submission.lazy.Affine(W, v).forward(x)}
    with assert_all() as check:
        for name, grad, at in (("dx", dx, x), ("layer.dW", layer.dW, W), ("layer.db", layer.db, b)):
            check(check_gradient, grad, forwards[name], at, name, upstream=dout,
                  expected_value=3.70002093257, what="Affine(W, b).forward(x)")


@pytest.mark.points(2)
def test_relu_layer(submission):
    rng = np.random.default_rng(56)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    layer = submission.ReLU()
    layer.forward(x)
    dx = layer.backward(dout)
    check_gradient(dx, lambda v: submission.lazy.ReLU().forward(v), x, "dx", upstream=dout,
                   expected_value=3.89592105659, what="ReLU().forward(x)")


@pytest.mark.points(2)
def test_softmax_loss_layer(submission):
    rng = np.random.default_rng(57)
    scores, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    layer = submission.SoftmaxLoss()
    layer.forward(scores, y)
    dscores = layer.backward()
    check_gradient(dscores, lambda v: submission.lazy.SoftmaxLoss().forward(v, y), scores, "backward()",
                   expected_value=1.85656255551, what="SoftmaxLoss().forward(scores, y)", batch_size=6)
    assert_close(layer.backward(2.0), 2 * np.asarray(dscores), name="backward(2.0), which must be 2 * backward()")


def student_net(make, params):
    """affine -> ReLU -> affine built from your classes, with the test's weights; `make` is `submission`,
    or `submission.lazy` to describe the net for a gradient check."""
    return make.Sequential([make.Affine(params["W1"], params["b1"]), make.ReLU(),
                            make.Affine(params["W2"], params["b2"])])


@pytest.mark.points(3)
def test_sequential_gradients(submission):
    rng = np.random.default_rng(58)
    params = {"W1": rng.normal(size=(3, 6)), "b1": rng.normal(size=6),
              "W2": rng.normal(size=(6, 4)), "b2": rng.normal(size=4)}
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 4, size=5)
    net = student_net(submission, params)
    net.loss(X, y)
    grads = net.grads
    assert isinstance(grads, dict), "net.grads must be a dict with the keys W1, b1, W2, b2"
    with assert_all() as check:
        for key in ("W1", "b1", "W2", "b2"):
            loss_of = lambda v, k=key: student_net(submission.lazy, {**params, k: v}).loss(X, y)  # noqa: E731
            check(check_gradient, grads.get(key), loss_of, params[key], f"grads['{key}']",
                  expected_value=1.99774030645, what="net.loss(X, y)", batch_size=5)


# The contract of build_mlp([3, 8, 7, 4], seed)'s params.
MLP_PARAMS = {"W1": (3, 8), "b1": (8,), "W2": (8, 7), "b2": (7,), "W3": (7, 4), "b3": (4,)}


@pytest.mark.points(2)
def test_build_mlp(submission):
    net = submission.build_mlp([3, 8, 7, 4], 0)
    params = assert_params(net.params, MLP_PARAMS, "build_mlp([3, 8, 7, 4], 0).params")
    for key in ("W1", "W2", "W3"):
        assert np.ptp(params[key]) > 0, f"{key} is constant: start from random weights"
    for key in ("b1", "b2", "b3"):
        assert not np.any(params[key]), f"{key} of a new network is not all zeros: biases start at 0"
    rng = np.random.default_rng(59)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    assert_close(net.loss(X, y), mean_cross_entropy(mlp_scores(params, X), y), name="net.loss(X, y)",
                 dtype=None)
    grads = net.grads
    assert isinstance(grads, dict), "net.grads must be a dict with the keys of net.params"
    with assert_all() as check:
        for key in MLP_PARAMS:
            numeric = numeric_gradient(lambda v, k=key: mean_cross_entropy(mlp_scores({**params, k: v}, X), y),
                                       params[key])
            check(assert_gradient, grads.get(key), numeric, f"grads['{key}']")


@pytest.mark.points(2)
def test_train_net(submission, figures, measured):
    rng = np.random.default_rng(60)
    X, y = spiral(rng, 300)
    result = submission.train_net(X, y, 0)
    assert isinstance(result, tuple) and len(result) == 2, "train_net must return (net, losses)"
    net, losses = result
    figures.curve("training loss of train_net on the spiral", {"yours": losses}, x_label="step", y_label="loss")
    test_X, test_y = spiral(rng, 1000)
    predicted = net.predict(test_X)
    assert_shape(predicted, (1000,), "net.predict(X)")
    assert_accuracy(predicted, test_y, at_least=0.9, name="held-out spiral points",
                    measured=measured)


def spiral(rng, n, classes=3):
    """n points of `classes` interleaved spiral arms in the plane, labels 0..classes-1."""
    y = rng.integers(0, classes, size=n)
    radius = rng.uniform(0.1, 1.0, size=n)
    angle = y * 2 * np.pi / classes + 8.0 * radius + rng.normal(0, 0.3, size=n)
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)], y


def mlp_scores(params, X):
    """Affine layers W1/b1, W2/b2, ... with a ReLU between them, in numpy."""
    count = len(params) // 2
    for i in range(1, count + 1):
        X = X @ params[f"W{i}"] + params[f"b{i}"]
        if i < count:
            X = relu(X)
    return X


def mean_cross_entropy(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def relu(x):
    return np.maximum(0.0, x)
