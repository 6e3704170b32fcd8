"""Public tests for the batch normalisation assignment: run them with `grader check batchnorm`.

The forward pass is compared with values worked out by hand, in both modes; the backward passes with
numerical gradients of your own forward functions. The network with batch norm inside is checked the same
way (its loss at stated inputs, then numerical gradients of your own loss), its test mode against the
formula, and its training on a small spiral data set.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_all, assert_close, assert_params
from grader.judge.gradcheck import check_gradient, partial

X = np.array([[1.0, 2.0], [3.0, -2.0], [5.0, 0.0]])
GAMMA, BETA = np.array([1.0, 2.0]), np.array([0.0, 1.0])


@pytest.mark.points(3)
def test_forward_train(submission):
    out, running_mean, running_var = submission.batchnorm_forward(X, GAMMA, BETA, np.zeros(2), np.ones(2), True)
    expected = np.array([[-1.22474258, 3.44948515], [0.0, -1.44948515], [1.22474258, 1.0]])
    assert_close(out, expected, name="out", rtol=1e-6)
    hint = "the running statistics average the batch ones with momentum; they are not replaced by them"
    assert_close(running_mean, np.array([0.3, 0.0]), name="running_mean (0.9 * 0 + 0.1 * batch mean)",
                 hints={hint: np.array([3.0, 0.0])})
    assert_close(running_var, np.array([7 / 6, 7 / 6]), name="running_var (0.9 * 1 + 0.1 * batch var)",
                 hints={hint: np.array([8 / 3, 8 / 3])})


@pytest.mark.points(2)
def test_forward_train_normalises(submission, rng):
    x = rng.normal(3.0, 5.0, size=(50, 4))
    out, _, _ = submission.batchnorm_forward(x, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4), True)
    assert_close(out.mean(axis=0), np.zeros(4), name="mean of each output feature", atol=1e-7)
    assert_close(out.std(axis=0), np.ones(4), name="std of each output feature", rtol=1e-4)


@pytest.mark.points(3)
def test_forward_test_mode(submission):
    running_mean, running_var = np.array([2.0, 0.0]), np.array([4.0, 1.0])
    out, new_mean, new_var = submission.batchnorm_forward(X, GAMMA, BETA, running_mean, running_var, False)
    expected = np.array([[-0.49999938, 4.99998], [0.49999938, -2.99998], [1.49999813, 1.0]])
    assert_close(out, expected, name="out at test time (uses the running statistics)", rtol=1e-6)
    assert_close(new_mean, running_mean, name="running_mean after test mode (unchanged)")
    assert_close(new_var, running_var, name="running_var after test mode (unchanged)")


@pytest.mark.points(4)
def test_backward_gradient_check(submission):
    rng = np.random.default_rng(81)
    x, gamma, beta = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    dout = rng.normal(size=(5, 3))
    args = (x, gamma, beta, np.zeros(3), np.ones(3), True)
    dx, dgamma, dbeta = submission.batchnorm_backward(dout, x, gamma)
    with assert_all() as check:
        for at, grad, name in ((0, dx, "dx"), (1, dgamma, "dgamma"), (2, dbeta, "dbeta")):
            check(check_gradient, grad, partial(submission.batchnorm_forward, args, at, pick=0), args[at], name,
                  upstream=dout, expected_value=0.337122024271,
                  what="the output of batchnorm_forward() in training mode")


@pytest.mark.points(2)
def test_spatial_forward_normalises_channels(submission, rng):
    x = rng.normal(1.0, 3.0, size=(4, 3, 5, 5))
    out, running_mean, _ = submission.spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3),
                                                               np.ones(3), True)
    assert_close(out.mean(axis=(0, 2, 3)), np.zeros(3), name="mean of each output channel", atol=1e-7)
    assert_close(out.std(axis=(0, 2, 3)), np.ones(3), name="std of each output channel", rtol=1e-4)
    assert_close(running_mean, 0.1 * x.mean(axis=(0, 2, 3)), name="running_mean")


@pytest.mark.points(3)
def test_spatial_backward_gradient_check(submission):
    rng = np.random.default_rng(82)
    x, gamma, beta = rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2), rng.normal(size=2)
    dout = rng.normal(size=(2, 2, 3, 3))
    args = (x, gamma, beta, np.zeros(2), np.ones(2), True)
    dx, dgamma, _ = submission.spatial_batchnorm_backward(dout, x, gamma)
    with assert_all() as check:
        for at, grad, name in ((0, dx, "dx"), (1, dgamma, "dgamma")):
            check(check_gradient, grad, partial(submission.spatial_batchnorm_forward, args, at, pick=0), args[at],
                  name, upstream=dout, expected_value=1.57877112382,
                  what="the output of spatial_batchnorm_forward() in training mode")


def small_net():
    rng = np.random.default_rng(83)
    params = {"W1": rng.normal(size=(3, 5)), "gamma": rng.uniform(0.5, 1.5, size=5), "beta": rng.normal(size=5) * 0.5,
              "W2": rng.normal(size=(5, 4)), "b2": rng.normal(size=4)}
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    return params, X, y


@pytest.mark.points(4)
def test_bn_net_gradient_check(submission):
    params, X, y = small_net()
    state = {"running_mean": np.zeros(5), "running_var": np.ones(5)}
    _, grads, _ = submission.bn_net_loss(params, state, X, y)
    assert isinstance(grads, dict), "bn_net_loss must return (loss, grads, new_bn_state) with grads a dict"
    with assert_all() as check:
        for key in ("W1", "gamma", "beta", "W2", "b2"):
            loss_of = partial(submission.bn_net_loss, (params, state, X, y), 0, key, pick=0)
            check(check_gradient, grads.get(key), loss_of, params[key], f"grads['{key}']",
                  expected_value=1.89303472555, what="the loss of bn_net_loss()", batch_size=6)


@pytest.mark.points(2)
def test_bn_net_updates_running_state(submission):
    params, X, y = small_net()
    state = {"running_mean": np.full(5, 1.0), "running_var": np.full(5, 2.0)}
    _, _, new_state = submission.bn_net_loss(params, state, X, y, 0.8)
    assert isinstance(new_state, dict), "bn_net_loss must return (loss, grads, new_bn_state) with a dict last"
    a = X @ params["W1"]  # what batch norm sees: the first affine layer's output
    assert_close(new_state.get("running_mean"), 0.8 * 1.0 + 0.2 * a.mean(axis=0),
                 name="new running_mean (0.8 * old + 0.2 * batch mean of X @ W1)")
    assert_close(new_state.get("running_var"), 0.8 * 2.0 + 0.2 * a.var(axis=0),
                 name="new running_var (0.8 * old + 0.2 * batch variance of X @ W1)")


@pytest.mark.points(3)
def test_bn_net_scores_use_running_statistics(submission):
    params, X, _ = small_net()
    state = {"running_mean": np.array([0.5, -1.0, 0.0, 2.0, 0.1]), "running_var": np.array([1.0, 4.0, 0.5, 2.0, 9.0])}
    scores = submission.bn_net_scores(params, state, X)
    bn = params["gamma"] * (X @ params["W1"] - state["running_mean"]) / np.sqrt(state["running_var"] + 1e-5) \
        + params["beta"]
    expected = np.maximum(0.0, bn) @ params["W2"] + params["b2"]
    assert_close(scores, expected, name="scores at test time (batch norm with the running statistics)")
    assert_close(submission.bn_net_scores(params, state, X[2:3]), expected[2:3],
                 name="scores of one example on its own (must equal its row in the batch)")


def spiral(rng, n, classes=3):
    """n points of each of `classes` interleaved spiral arms in the plane, shuffled."""
    r = np.tile(np.linspace(0.05, 1.0, n), classes)
    labels = np.repeat(np.arange(classes), n)
    t = r * 4.5 + labels * 4.0 + rng.normal(0, 0.2, size=n * classes)
    order = rng.permutation(n * classes)
    return np.c_[r * np.sin(t), r * np.cos(t)][order], labels[order]


@pytest.mark.points(3)
def test_train_bn_net_fits_a_spiral(submission, rng, measured):
    X, y = spiral(rng, 200)
    params, bn_state, history = submission.train_bn_net(X, y, 3, 0.1, 0.1, 0)
    params = assert_params(params, {"W1": (2, "H"), "gamma": ("H",), "beta": ("H",), "W2": ("H", 3), "b2": (3,)},
                           "train_bn_net's params")
    history = np.asarray(history, dtype=float)
    assert history.ndim == 1 and history.size >= 2, "history must be a 1-D array of the loss of every mini-batch"
    measured.record("mean loss of the last 10 mini-batches", float(history[-10:].mean()))
    predicted = submission.bn_net_scores(params, bn_state, X).argmax(axis=1)
    assert_accuracy(predicted, y, at_least=0.9, name="the trained network on its 600 training points",
                    measured=measured)
