"""Public tests for the batch normalisation assignment: run them with `grader check batchnorm`.

The forward pass is compared with values worked out by hand, in both modes; the backward passes with
numerical gradients of your own forward functions.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close
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
