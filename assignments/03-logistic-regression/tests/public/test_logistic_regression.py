"""Public tests for logistic regression: run them with `grader check logistic-regression`."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close
from grader.judge.gradcheck import assert_gradient, numeric_gradient


@pytest.mark.points(2)
def test_sigmoid_values(submission):
    z = np.array([0.0, np.log(3.0), -np.log(3.0)])
    assert_close(submission.sigmoid(z), np.array([0.5, 0.75, 0.25]), name="sigmoid")


@pytest.mark.points(2)
def test_sigmoid_of_large_inputs(submission):
    assert_close(submission.sigmoid(np.array([-1000.0, 1000.0])), np.array([0.0, 1.0]), name="sigmoid(+-1000)")


@pytest.mark.points(2)
def test_cross_entropy_small(submission):
    loss = submission.cross_entropy_from_logits(np.array([0.0, 0.0]), np.array([0.0, 1.0]))
    assert_close(loss, np.log(2.0), name="loss of a model that always says 50%")


@pytest.mark.points(3)
def test_gradients_against_numerical(submission, rng):
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8).astype(float)
    w, b = rng.normal(size=3), 0.2

    def loss(w_, b_):
        return submission.cross_entropy_from_logits(X @ w_ + b_, y)

    dw, db = submission.gradients(X, y, w, b)
    assert_gradient(dw, numeric_gradient(lambda v: loss(v, b), w), "dL/dw")
    assert_gradient(np.array([db]), numeric_gradient(lambda v: loss(w, v[0]), np.array([b])), "dL/db")


@pytest.mark.points(3)
def test_training_separates_two_blobs(submission, rng):
    X = np.vstack([rng.normal(-2, 1, size=(50, 2)), rng.normal(2, 1, size=(50, 2))])
    y = np.repeat([0.0, 1.0], 50)
    w, b = submission.train(X, y, 0.5, 300)
    assert_accuracy(submission.predict_labels(X, w, b), y.astype(np.int64), at_least=0.95,
                    name="training predictions")
