"""Public tests for linear regression: run them with `grader check linear-regression`."""

import numpy as np
import pytest

from grader.judge.checks import assert_close
from grader.judge.gradcheck import check_gradient, partial

X = np.array([[1.0, 2.0], [2.0, 0.0], [0.0, 1.0]])
Y = np.array([5.0, 3.0, 2.0])


@pytest.mark.points(2)
def test_predict(submission):
    assert_close(submission.predict(X, np.array([1.0, 2.0]), 0.5), np.array([5.5, 2.5, 2.5]), name="h(X)")


@pytest.mark.points(2)
def test_cost(submission):
    # errors 0.5, -0.5, 0.5: J = (0.25 * 3) / (2 * 3)
    assert_close(submission.cost(X, Y, np.array([1.0, 2.0]), 0.5), 0.125, name="J",
                 hints={"J has 1/(2N) in front: half the mean squared error": 0.25})


@pytest.mark.points(3)
def test_gradients_against_numerical(submission):
    # Your cost is checked at these inputs first: the numerical gradient of a wrong cost proves nothing.
    rng = np.random.default_rng(2)
    Xr, yr, w, b = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=3), 0.3
    dw, db = submission.gradients(Xr, yr, w, b)
    check_gradient(dw, partial(submission.cost, (Xr, yr, w, b), 2), w, "dJ/dw",
                   expected_value=COST_AT_CHECK, what="cost()", batch_size=6)

    def cost_of_b(v):
        return submission.cost(Xr, yr, w, v[0])

    check_gradient(np.array([db]) if np.ndim(db) == 0 else db, cost_of_b, np.array([b]), "dJ/db",
                   batch_size=6)


COST_AT_CHECK = 4.94853149256  # cost(Xr, yr, w, b) at the inputs above


@pytest.mark.points(3)
def test_gradient_descent_lowers_the_cost(submission, rng, measured):
    Xr = rng.normal(size=(50, 2))
    yr = Xr @ np.array([2.0, -1.0]) + 0.5
    w, b, history = submission.gradient_descent(Xr, yr, 0.1, 200)
    assert history.shape == (201,), f"history has shape {history.shape}, expected (201,): the cost before " \
                                    "each step and after the last"
    measured.record("cost after 200 steps", history[-1])
    assert np.all(np.diff(history) <= 1e-12), "the cost went up during gradient descent"
    assert_close(w, np.array([2.0, -1.0]), name="w after 200 steps", rtol=1e-3, atol=1e-3)


@pytest.mark.points(2)
def test_normal_equation(submission):
    w, b = submission.normal_equation(X, np.array([3.0, 4.0, 1.0]))  # three points, an exact fit
    assert_close(w, np.array([5 / 3, 1 / 3]), name="w", rtol=1e-8, atol=1e-10)
    assert_close(b, 2 / 3, name="b", rtol=1e-8, atol=1e-10)
