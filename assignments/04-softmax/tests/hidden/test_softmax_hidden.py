"""Hidden tests for the softmax classifier: invariants, stability, exact gradients, held-out accuracy."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close, assert_finite, assert_params
from grader.judge.gradcheck import assert_gradient, numeric_gradient


@pytest.mark.points(2)
@pytest.mark.parametrize("n,c", [(1, 1), (5, 4), (9, 10)])
def test_one_hot_random(submission, reference, rng, n, c):
    y = rng.integers(0, c, size=n)
    assert_close(submission.one_hot(y, c), reference.one_hot(y, c), name="one-hot")


@pytest.mark.points(2)
def test_softmax_rows_sum_to_one(submission, reference, rng):
    scores = rng.normal(scale=4, size=(7, 5))
    probs = submission.softmax(scores)
    sums = np.asarray(probs).sum(axis=-1)
    columns = np.ndim(probs) == 2 and np.allclose(np.asarray(probs).sum(axis=0), 1.0)
    why = "you normalised each column: " if columns else ""
    assert np.allclose(sums, 1.0), f"row sums are {np.round(sums, 3).tolist()}. Hint: softmax's rows must " \
        f"each sum to 1; {why}normalise each row (sum over axis=1), not each column"
    assert_close(probs, reference.softmax(scores), name="softmax")


@pytest.mark.points(3)
def test_softmax_huge_scores(submission, reference):
    scores = np.array([[1000.0, 999.0, -1000.0], [-2000.0, -2001.0, -2002.0]])
    probs = submission.softmax(scores)
    assert_finite(np.asarray(probs, dtype=float), "softmax of huge scores", advice=(
        "exp overflows for scores in the thousands: subtract each row's maximum before exp (it cancels "
        "out, and exp can no longer overflow)"))
    assert_close(probs, reference.softmax(scores), name="softmax of huge scores")


@pytest.mark.points(2)
def test_cross_entropy_random(submission, reference, rng):
    probs = reference.softmax(rng.normal(size=(8, 4)))
    y = rng.integers(0, 4, size=8)
    expected = reference.cross_entropy(probs, y)
    assert_close(submission.cross_entropy(probs, y), expected, name="cross-entropy",
                 hints={"average over the examples, don't sum": expected * 8})


@pytest.mark.points(4)
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_loss_and_grads_match_reference(submission, reference, rng, reg):
    W, b = rng.normal(size=(5, 4)), rng.normal(size=4)
    X, y = rng.normal(size=(10, 5)), rng.integers(0, 4, size=10)
    loss, dW, db = submission.loss_and_grads(W, b, X, y, reg)
    ref_loss, ref_dW, ref_db = reference.loss_and_grads(W, b, X, y, reg)
    assert_close(loss, ref_loss, name="loss")
    assert_close(dW, ref_dW, name="dW", hints={"the regularisation gradient is reg * W":
                                               ref_dW - reg * W if reg else ref_dW * 10})
    assert_close(db, ref_db, name="db")


@pytest.mark.points(2)
def test_gradient_check_wide(submission, reference, rng):
    W, b = rng.normal(size=(7, 5)), rng.normal(size=5)
    X, y = rng.normal(size=(12, 7)), rng.integers(0, 5, size=12)
    _, dW, db = submission.loss_and_grads(W, b, X, y, 0.3)
    # The numerical gradient comes from the reference loss, so a wrong loss cannot excuse a wrong gradient.
    assert_gradient(dW, numeric_gradient(lambda v: reference.loss_and_grads(v, b, X, y, 0.3)[0], W), "dW")
    assert_gradient(db, numeric_gradient(lambda v: reference.loss_and_grads(W, v, X, y, 0.3)[0], b), "db")


@pytest.mark.points(5)
def test_accuracy_on_held_out_points(submission, rng, measured):
    centres = rng.normal(scale=2.5, size=(4, 6))
    y = rng.integers(0, 4, size=600)
    X = centres[y] + rng.normal(size=(600, 6))
    W, b = submission.train(X[:400], y[:400], 4, 1)
    assert_params({"W": W, "b": b}, {"W": (6, 4), "b": (4,)}, "train's result")
    predicted = (X[400:] @ W.astype(float) + b.astype(float)).argmax(axis=1)
    assert_accuracy(predicted, y[400:], at_least=0.85, name="the trained classifier on 200 held-out points",
                    measured=measured)


@pytest.mark.points(3)
def test_accuracy_with_unequal_class_sizes(submission, rng, measured):
    # Three overlapping clusters around the origin, 75% / 15% / 10% of the points: only the bias can
    # encode how common each class is, so a bias trained in the wrong direction falls below always
    # guessing the largest class (75%). The reference scores about 0.92.
    centres = 2.0 * np.eye(3, 4)
    centres -= centres.mean(axis=0)
    y = rng.choice(3, size=900, p=[0.75, 0.15, 0.10])
    X = centres[y] + rng.normal(size=(900, 4))
    W, b = submission.train(X[:600], y[:600], 3, 2)
    assert_params({"W": W, "b": b}, {"W": (4, 3), "b": (3,)}, "train's result")
    predicted = (X[600:] @ W.astype(float) + b.astype(float)).argmax(axis=1)
    assert_accuracy(predicted, y[600:], at_least=0.8,
                    name="the trained classifier on 300 held-out points from classes of unequal size "
                         "(is the bias updated downhill, b -= learning_rate * db?)", measured=measured)
