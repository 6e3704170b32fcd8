"""Hidden tests of the whole game: the pieces against the reference, and the classifier on held-out digits.

The held-out digits are the MNIST test digits with this step's seeded pixel noise (they stay perfectly
readable); their labels never leave the judge.
"""

import numpy as np
import pytest

from grader.judge.checks import CheckFailed, assert_accuracy, assert_close, assert_shape
from grader.judge.checks import accuracy as share_right
from grader.judge.datasets import held_out_digits
from grader.judge.proxy import Handle


def random_probs(rng, n, classes):
    scores = rng.normal(size=(n, classes)) * 2
    probs = np.exp(scores)
    return probs / probs.sum(axis=1, keepdims=True)


@pytest.mark.points(2)
def test_prepare_random_images(submission, reference, rng):
    images = rng.integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    expected = reference.prepare(images)
    assert_close(submission.prepare(images), expected, name="prepared images", rtol=1e-6,
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(1)
@pytest.mark.parametrize("n", [1, 7, 400])
def test_accuracy_matches_reference(submission, reference, rng, n):
    labels = rng.integers(0, 10, size=n)
    predicted = np.where(rng.random(n) < 0.7, labels, rng.integers(0, 10, size=n))
    predicted[0] = labels[0]  # at least one right: an accuracy of 0 must not pass
    expected = reference.accuracy(predicted, labels)
    assert_close(submission.accuracy(predicted, labels), expected, name="accuracy",
                 hints={"the accuracy is a fraction: divide the number right by the number of examples":
                        expected * n} if n > 1 else None)


@pytest.mark.points(1)
@pytest.mark.parametrize("classes", [10, 3])
def test_confusion_matrix_matches_reference(submission, reference, rng, classes):
    labels = rng.integers(0, classes, size=60)
    # the last class is never predicted: its column is empty, so the size must come from `classes`
    predicted = np.where(rng.random(60) < 0.5, labels, rng.integers(0, classes - 1, size=60))
    predicted[predicted == classes - 1] = 0
    expected = reference.confusion_matrix(predicted, labels, classes)
    assert_close(submission.confusion_matrix(predicted, labels, classes), expected, name="confusion matrix",
                 hints={"rows are the true classes and columns the predicted ones: count at "
                        "[label, prediction]": expected.T})


@pytest.mark.points(1)
@pytest.mark.parametrize("n, classes, k", [(30, 10, 5), (12, 3, 20), (200, 10, 1)])
def test_worst_mistakes_matches_reference(submission, reference, rng, n, classes, k):
    probs = random_probs(rng, n, classes)
    labels = rng.integers(0, classes, size=n)
    expected = reference.worst_mistakes(probs, labels, k)
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    confidence = probs.max(axis=1)
    assert_close(submission.worst_mistakes(probs, labels, k), expected, name="worst_mistakes",
                 hints={"the most confident mistake comes first: sort by confidence, largest first":
                        wrong[np.argsort(confidence[wrong], kind="stable")][:k],
                        "only wrong examples count: an example is wrong when its most probable class is "
                        "not its label": np.argsort(-confidence, kind="stable")[:k]})


@pytest.mark.points(1)
def test_worst_mistakes_ties_keep_the_lower_index_first(submission, reference):
    probs = np.array([[0.1, 0.9], [0.7, 0.3], [0.1, 0.9], [0.3, 0.7], [0.7, 0.3]])
    labels = np.array([0, 1, 0, 0, 1])
    assert_close(submission.worst_mistakes(probs, labels, 4), reference.worst_mistakes(probs, labels, 4),
                 name="worst_mistakes with equal confidences",
                 advice="among equally confident mistakes the lower index comes first (a stable sort)")


@pytest.mark.points(8)
@pytest.mark.call_seconds(30)
def test_classifier_on_held_out_digits(submission, mnist, figures, measured):
    model = submission.train_classifier(mnist["train_images"][:10000], mnist["train_labels"][:10000])
    if not isinstance(model, Handle):  # numbers came back, not the model object that stays in the sandbox
        raise CheckFailed(f"train_classifier: it returned {type(model).__name__}, not a model. "
                          "Hint: return the trained DigitNet (fit returns it)")
    images, labels = held_out_digits(mnist, seed=100)
    X = submission.prepare(images)
    assert_shape(X, (len(images), 784), "prepare(images)")
    predicted = model.predict(X)
    share_right(predicted, labels, "model.predict(prepare(images))")  # one integer label per digit
    figures.confusion("held-out digits: true class (rows) against your classifier's answer", labels, predicted)
    try:
        assert_accuracy(predicted, labels, 0.90, "your classifier on 10,000 held-out digits", measured=measured)
    except CheckFailed as failure:
        top = float(np.max(X))  # the evidence for this hint: the student's own prepared pixels
        if top > 1.0:
            raise CheckFailed(f"{str(failure).rstrip('.')}. Hint: prepare gives pixels up to {top:g}; "
                              "the library expects them in [0, 1]: divide by 255") from None
        raise
