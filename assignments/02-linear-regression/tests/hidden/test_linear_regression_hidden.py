"""Hidden tests for linear regression: random data, the exact descent path, convergence."""

import numpy as np
import pytest

from grader.judge.checks import assert_close
from grader.judge.gradcheck import assert_gradient, numeric_gradient


def data(rng, n, d, noise=0.1):
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    return X, X @ w - 1.5 + noise * rng.normal(size=n), w


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d", [(1, 1), (10, 3), (40, 8)])
def test_predict_and_cost_random(submission, reference, rng, n, d):
    X, y, _ = data(rng, n, d)
    w, b = rng.normal(size=d), float(rng.normal())
    assert_close(submission.predict(X, w, b), reference.predict(X, w, b), name="h(X)")
    expected = reference.cost(X, y, w, b)
    assert_close(submission.cost(X, y, w, b), expected, name="J",
                 hints={"J has 1/(2N) in front: half the mean squared error": 2 * expected,
                        "divide by the number of examples N": expected * n})


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d", [(5, 1), (30, 4)])
def test_gradients_random(submission, reference, rng, n, d):
    X, y, _ = data(rng, n, d)
    w, b = rng.normal(size=d), float(rng.normal())
    dw, db = submission.gradients(X, y, w, b)
    ref_dw, ref_db = reference.gradients(X, y, w, b)
    assert_close(dw, ref_dw, name="dJ/dw", hints={"divide the gradient by N": ref_dw * n,
                                                   "the gradient of 1/(2N) sum e^2 has no factor 2": 2 * ref_dw})
    assert_close(db, ref_db, name="dJ/db", hints={"divide the gradient by N": ref_db * n})


@pytest.mark.points(2)
def test_gradient_check_wide(submission, reference, rng):
    X, y, _ = data(rng, 20, 9)
    w, b = rng.normal(size=9), float(rng.normal())
    dw, db = submission.gradients(X, y, w, b)
    # The numerical gradient comes from the reference cost, so a wrong cost cannot excuse a wrong gradient.
    assert_gradient(dw, numeric_gradient(lambda v: reference.cost(X, y, v, b), w), "dJ/dw")
    assert_gradient(np.array([db]), numeric_gradient(lambda v: reference.cost(X, y, w, v[0]), np.array([b])),
                    "dJ/db")


@pytest.mark.points(3)
def test_gradient_descent_path(submission, reference, rng, figures):
    X, y, _ = data(rng, 25, 3)
    w, b, history = submission.gradient_descent(X, y, 0.05, 30)
    ref_w, ref_b, ref_history = reference.gradient_descent(X, y, 0.05, 30)
    figures.curve("cost before each step (learning rate 0.05)", {"yours": history, "reference": ref_history},
                  y_label="cost")
    assert_close(history, ref_history, name="cost history")
    assert_close(w, ref_w, name="w after 30 steps")
    assert_close(b, ref_b, name="b after 30 steps")


@pytest.mark.points(2)
def test_zero_steps(submission, rng):
    X, y, _ = data(rng, 8, 2)
    w, b, history = submission.gradient_descent(X, y, 0.1, 0)
    assert_close(w, np.zeros(2), name="w with no steps")
    assert_close(history, np.array([float(y @ y / 16)]), name="history with no steps")


@pytest.mark.points(3)
def test_descent_converges_to_the_normal_equation(submission, reference, rng):
    X, y, _ = data(rng, 200, 5)
    w, b, _ = submission.gradient_descent(X, y, 0.2, 500)
    exact_w, exact_b = reference.normal_equation(X, y)
    assert_close(w, exact_w, name="w after 500 steps", rtol=1e-4, atol=1e-5)
    assert_close(b, exact_b, name="b after 500 steps", rtol=1e-4, atol=1e-5)


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d", [(3, 1), (50, 6)])
def test_normal_equation_random(submission, reference, rng, n, d):
    X, y, _ = data(rng, n, d)
    w, b = submission.normal_equation(X, y)
    ref_w, ref_b = reference.normal_equation(X, y)
    assert_close(w, ref_w, name="w", rtol=1e-7, atol=1e-9)
    assert_close(b, ref_b, name="b", rtol=1e-7, atol=1e-9)
