"""Hidden tests for logistic regression: stability, exact gradients, accuracy on held-out points."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close, assert_finite, assert_shape
from grader.judge.gradcheck import assert_gradient, numeric_gradient


def blobs(rng, n, d, gap):
    centre = rng.normal(size=d)
    centre *= gap / np.linalg.norm(centre)
    X = np.vstack([rng.normal(size=(n, d)) - centre, rng.normal(size=(n, d)) + centre])
    return X, np.repeat([0.0, 1.0], n)


@pytest.mark.points(2)
def test_sigmoid_random_and_shapes(submission, reference, rng):
    z = rng.normal(scale=5, size=(4, 6))
    assert_close(submission.sigmoid(z), reference.sigmoid(z), name="sigmoid of a (4, 6) array")


@pytest.mark.points(2)
def test_sigmoid_extremes(submission, reference):
    z = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    assert_close(submission.sigmoid(z), reference.sigmoid(z), name="sigmoid at extremes", atol=1e-300)


@pytest.mark.points(3)
def test_cross_entropy_random(submission, reference, rng):
    z, y = rng.normal(scale=3, size=20), rng.integers(0, 2, size=20).astype(float)
    assert_close(submission.cross_entropy_from_logits(z, y), reference.cross_entropy_from_logits(z, y),
                 name="loss")


@pytest.mark.points(3)
def test_cross_entropy_is_stable_for_large_logits(submission, reference):
    z, y = np.array([1000.0, -1000.0, 500.0, -30.0]), np.array([0.0, 1.0, 1.0, 0.0])
    expected = reference.cross_entropy_from_logits(z, y)
    loss = submission.cross_entropy_from_logits(z, y)
    assert_finite(np.asarray(loss, dtype=float), "loss for large logits", advice=(
        "log(sigmoid(z)) underflows to log(0) for large logits; use the numerically stable form "
        "max(z, 0) - z y + log(1 + exp(-|z|))"))
    assert_close(loss, expected, name="loss for large logits", rtol=1e-9)


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d", [(3, 1), (40, 5)])
def test_gradients_random(submission, reference, rng, n, d):
    X, y = rng.normal(size=(n, d)), rng.integers(0, 2, size=n).astype(float)
    w, b = rng.normal(size=d), float(rng.normal())
    dw, db = submission.gradients(X, y, w, b)
    ref_dw, ref_db = reference.gradients(X, y, w, b)
    assert_close(dw, ref_dw, name="dL/dw", hints={"divide the gradient by N": ref_dw * n})
    assert_close(db, ref_db, name="dL/db", hints={"divide the gradient by N": ref_db * n})


@pytest.mark.points(2)
def test_gradient_check_wide(submission, reference, rng):
    X, y = rng.normal(size=(30, 7)), rng.integers(0, 2, size=30).astype(float)
    w, b = rng.normal(size=7), float(rng.normal())
    dw, db = submission.gradients(X, y, w, b)
    # The numerical gradient comes from the reference loss, so a wrong loss cannot excuse a wrong gradient.
    assert_gradient(dw, numeric_gradient(lambda v: reference.cross_entropy_from_logits(X @ v + b, y), w), "dL/dw")
    assert_gradient(np.array([db]), numeric_gradient(
        lambda v: reference.cross_entropy_from_logits(X @ w + v[0], y), np.array([b])), "dL/db")


@pytest.mark.points(2)
def test_train_path(submission, reference, rng):
    X, y = blobs(rng, 15, 3, 1.0)
    w, b = submission.train(X, y, 0.3, 25)
    ref_w, ref_b = reference.train(X, y, 0.3, 25)
    assert_close(w, ref_w, name="w after 25 steps")
    assert_close(b, ref_b, name="b after 25 steps")


@pytest.mark.points(2)
def test_predict_labels_threshold(submission):
    # Scores 1, -1, 0, 2, 0.25: only the score 0 (probability exactly 0.5) tells >= from >, and only
    # the score 0.25 tells "sigmoid(score) >= 0.5" from "score >= 0.5".
    X = np.array([[1.0], [-1.0], [0.0], [2.0], [0.25]])
    got = submission.predict_labels(X, np.array([1.0]), 0.0)
    assert_close(got, np.array([1, 0, 1, 1, 1]), name="labels", dtype=None,
                 hints={"a probability of exactly 0.5 counts as class 1": np.array([1, 0, 0, 1, 1]),
                        "compare the probability sigmoid(score) with 0.5, not the score itself: a score "
                        "above 0.5 is a probability above 0.62": np.array([1, 0, 0, 1, 0])})


@pytest.mark.points(1)
@pytest.mark.parametrize("n,d", [(5, 1), (12, 4)])
def test_predict_labels_random(submission, reference, rng, n, d):
    X, w = rng.normal(size=(n, d)), rng.normal(size=d)
    scores = np.sort(X @ w)
    b = -float(scores[1] + scores[2]) / 2  # both classes present: a constant answer cannot pass
    expected = reference.predict_labels(X, w, b)
    assert_close(submission.predict_labels(X, w, b), expected, name="labels", dtype=None,
                 hints={"the score is X @ w + b: add the bias, don't subtract it":
                        (X @ w - b >= 0).astype(np.int64),
                        "the labels are 1 where the probability is high: compare with >= 0.5, not <=":
                        1 - expected})


@pytest.mark.points(5)
def test_accuracy_on_held_out_points(submission, rng, measured):
    X, y = blobs(rng, 300, 4, 1.5)
    order = rng.permutation(len(y))
    train, test = order[:400], order[400:]
    w, b = submission.train(X[train], y[train], 0.5, 300)
    assert_shape(w, (X.shape[1],), "w")  # checked before the judge computes with it
    assert isinstance(b, (int, float, np.integer, np.floating)) and not isinstance(b, bool), \
        f"b must be a number, got {type(b).__name__}"
    predicted = (X[test] @ w.astype(float) + float(b) >= 0).astype(np.int64)
    assert_accuracy(predicted, y[test].astype(np.int64), at_least=0.88, name="the trained model on 200 held-out points",
                    measured=measured)
