"""Public tests for logistic regression: run them with `grader check logistic-regression`."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close
from grader.judge.gradcheck import check_gradient


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
def test_gradients_against_numerical(submission):
    # Your loss is checked at these inputs first: the numerical gradient of a wrong loss proves nothing.
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8).astype(float)
    w, b = rng.normal(size=3), 0.2

    def loss_of_w(v):
        return submission.cross_entropy_from_logits(X @ v + b, y)

    def loss_of_b(v):
        return submission.cross_entropy_from_logits(X @ w + v[0], y)

    dw, db = submission.gradients(X, y, w, b)
    check_gradient(dw, loss_of_w, w, "dL/dw", expected_value=LOSS_AT_CHECK,
                   what="cross_entropy_from_logits()", batch_size=8)
    check_gradient(np.array([db]) if np.ndim(db) == 0 else db, loss_of_b, np.array([b]), "dL/db",
                   batch_size=8)


LOSS_AT_CHECK = 0.615212563822  # cross_entropy_from_logits(X @ w + b, y) at the inputs above


@pytest.mark.points(3)
def test_training_separates_two_blobs(submission, rng, measured):
    X = np.vstack([rng.normal(-2, 1, size=(50, 2)), rng.normal(2, 1, size=(50, 2))])
    y = np.repeat([0.0, 1.0], 50)
    w, b = submission.train(X, y, 0.5, 300)
    assert_accuracy(submission.predict_labels(X, w, b), y.astype(np.int64), at_least=0.95,
                    name="training predictions", measured=measured)
