"""Public tests for the softmax classifier: run them with `grader check softmax`."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close, assert_params
from grader.judge.gradcheck import check_gradient, partial


@pytest.mark.points(2)
def test_one_hot(submission):
    assert_close(submission.one_hot(np.array([2, 0]), 3), np.array([[0.0, 0, 1], [1, 0, 0]]), name="one-hot")


@pytest.mark.points(2)
def test_softmax_small(submission):
    scores = np.array([[0.0, np.log(3.0)], [5.0, 5.0]])
    assert_close(submission.softmax(scores), np.array([[0.25, 0.75], [0.5, 0.5]]), name="softmax")


@pytest.mark.points(2)
def test_cross_entropy_small(submission):
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert_close(submission.cross_entropy(probs, np.array([0, 1])), -(np.log(0.5) + np.log(0.75)) / 2,
                 name="cross-entropy")


@pytest.mark.points(4)
def test_gradients_against_numerical(submission):
    # Your loss is checked at these inputs first: the numerical gradient of a wrong loss proves nothing.
    rng = np.random.default_rng(4)
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    args = (W, b, X, y, 0.1)
    loss, dW, db = submission.loss_and_grads(*args)
    check_gradient(dW, partial(submission.loss_and_grads, args, 0, pick=0), W, "dW",
                   expected_value=LOSS_AT_CHECK, what="the loss of loss_and_grads()", batch_size=6)
    check_gradient(db, partial(submission.loss_and_grads, args, 1, pick=0), b, "db", batch_size=6)


LOSS_AT_CHECK = 2.41691356914  # loss_and_grads(W, b, X, y, 0.1)[0] at the inputs above


@pytest.mark.points(3)
def test_training_fits_three_clusters(submission, rng, measured):
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = np.repeat([0, 1, 2], 30)
    X = centres[y] + rng.normal(scale=0.7, size=(90, 2))
    W, b = submission.train(X, y, 3, 0)
    assert_params({"W": W, "b": b}, {"W": (2, 3), "b": (3,)}, "train's result")
    assert_accuracy((X @ W + b).argmax(axis=1), y, at_least=0.95, name="training predictions",
                    measured=measured)
