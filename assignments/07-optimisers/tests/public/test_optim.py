"""Public tests for the optimisers assignment: run them with `grader check optimisers`.

Update rules are compared with values worked out by hand; dropout with the properties it must have;
fit_ridge with the closed-form ridge solution it should converge to.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_shape
from grader.judge.gradcheck import check_gradient

W = np.array([1.0, -2.0, 0.5])
DW = np.array([0.5, 0.5, -1.0])


@pytest.mark.points(1)
def test_sgd_step(submission):
    assert_close(submission.sgd_step(W, DW, 0.1), np.array([0.95, -2.05, 0.6]), name="w")


@pytest.mark.points(3)
def test_momentum_two_steps(submission):
    w, v = submission.momentum_step(W, DW, np.zeros(3), 0.1, 0.9)
    assert_close(v, np.array([-0.05, -0.05, 0.1]), name="v after step 1")
    assert_close(w, np.array([0.95, -2.05, 0.6]), name="w after step 1",
                 hints={"update v first, then move w by the new v": W})
    w, v = submission.momentum_step(w, np.array([0.2, -0.4, 0.0]), v, 0.1, 0.9)
    assert_close(v, np.array([-0.065, -0.005, 0.09]), name="v after step 2")
    assert_close(w, np.array([0.885, -2.055, 0.69]), name="w after step 2")


@pytest.mark.points(2)
def test_step_decay(submission):
    got = [submission.step_decay(0.1, epoch, 0.5, 10) for epoch in (0, 9, 10, 25)]
    assert_close(np.array(got, dtype=float), np.array([0.1, 0.1, 0.05, 0.025]),
                 name="learning rates at epochs 0, 9, 10, 25")


@pytest.mark.points(3)
def test_l2_penalty(submission):
    params = {"W1": np.array([[1.0, -2.0], [0.5, 0.0]]), "b1": np.array([3.0, 4.0]),
              "W2": np.array([[2.0], [1.0]]), "b2": np.array([-1.0])}
    loss, grads = submission.l2_penalty(params, 0.1)
    assert_close(loss, 0.5125, name="loss")
    assert_close(grads["W1"], np.array([[0.1, -0.2], [0.05, 0.0]]), name="grads['W1']")
    assert_close(grads["b1"], np.zeros(2), name="grads['b1'] (biases are not regularised)")


@pytest.mark.points(3)
def test_dropout_train(submission):
    x = np.ones((100, 200))
    out, mask = submission.dropout_forward(x, 0.25, True, 0)
    assert_shape(mask, x.shape, name="mask")
    assert_close(out, x * mask, name="out (should be x * mask)")
    assert set(np.unique(mask).round(12)) <= {0.0, round(1 / 0.75, 12)}, \
        "mask entries must be 0 (dropped) or 1 / (1 - p) (kept)"
    dropped = float(np.mean(mask == 0))
    assert abs(dropped - 0.25) < 0.02, f"dropped {dropped:.1%} of the units with p = 0.25"


@pytest.mark.points(2)
def test_dropout_test_mode(submission, rng):
    x = rng.normal(size=(4, 6))
    out, mask = submission.dropout_forward(x, 0.5, False, 0)
    assert_close(out, x, name="out at test time (should be x itself)")
    assert mask is None, "at test time the mask is None"


@pytest.mark.points(2)
def test_dropout_backward_gradient_check(submission):
    rng = np.random.default_rng(71)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    _, mask = submission.dropout_forward(x, 0.4, True, 3)
    dx = submission.dropout_backward(dout, mask, True)
    # The mask is yours (seeded), so the forward value is checked for what any mask must give: the
    # kept entries of x scaled by 1 / (1 - p), the rest 0. Then the gradient against your forward.
    out = submission.dropout_forward(x, 0.4, True, 3)[0]
    assert_shape(out, x.shape, name="out")
    kept = out != 0
    assert kept.any() and not kept.all(), "dropout with p = 0.4 must drop some entries and keep others"
    assert_close(out[kept], x[kept] / 0.6, name="kept entries of out (x / (1 - p))")
    check_gradient(dx, lambda v: submission.dropout_forward(v, 0.4, True, 3)[0], x, "dx", upstream=dout)


@pytest.mark.points(3)
def test_fit_ridge_converges(submission, rng):
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)
    w = submission.fit_ridge(X, y, 0.1, 0.9, 0.01, 300)
    best = np.linalg.solve(X.T @ X / 50 + 0.01 * np.eye(3), X.T @ y / 50)
    assert_close(w, best, name="w after 300 steps (vs the closed-form ridge solution)", rtol=1e-4)
