"""Public tests of the whole game: run them with `grader check whole-game`.

The last test trains your classifier on 10,000 training digits and measures it on 5,000 others.
"""

import numpy as np
import pytest

from grader.judge.checks import CheckFailed, assert_accuracy, assert_close, assert_shape
from grader.judge.checks import accuracy as share_right
from grader.judge.proxy import Handle
from grader.judge.verdicts import StudentError


def show_worst_mistakes(figures, model, X, images, labels, count=10):
    """A figure of the digits the model gets wrong with the highest probability, read on the judge's side
    from model.predict_proba (DigitNet's; a model without it, or one that raises there, gets no figure)."""
    try:
        probs = model.predict_proba(X)
    except (StudentError, AttributeError):
        return
    if not isinstance(probs, np.ndarray) or probs.shape != (len(labels), 10) or probs.dtype.kind != "f":
        return
    guess = probs.argmax(axis=1)
    wrong = np.flatnonzero(guess != labels)
    worst = wrong[np.argsort(-probs[wrong, guess[wrong]], kind="stable")][:count]
    if len(worst):
        figures.images(f"the {len(worst)} validation digits your classifier is surest of and gets wrong",
                       {"read as " + " ".join(str(g) for g in guess[worst]): images[worst] / 255.0})


PREDICTED = np.array([3, 1, 4, 1, 5, 9, 2, 6])
LABELS = np.array([3, 1, 4, 7, 5, 9, 2, 5])


@pytest.mark.points(2)
def test_prepare(submission):
    """prepare flattens each image to one row of 784 float32 pixels in [0, 1]."""
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 0, 1] = 255, 51, 102
    expected = np.zeros((2, 784), dtype=np.float32)
    expected[0, 0], expected[1, 783], expected[1, 1] = 1.0, 0.2, 0.4
    assert_close(submission.prepare(images), expected, name="prepared images",
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(2)
def test_accuracy(submission):
    """6 of these 8 predictions are right: the accuracy is 0.75."""
    assert_close(submission.accuracy(PREDICTED, LABELS), 0.75, name="accuracy",
                 hints={"the accuracy is a fraction: divide the number right by the number of examples": 6.0})


@pytest.mark.points(3)
def test_confusion_matrix(submission):
    """Rows are true classes, columns predicted ones: the 7 predicted as 1 is counted at [7, 1]."""
    expected = np.zeros((10, 10), dtype=np.int64)
    for true, guess in [(3, 3), (1, 1), (4, 4), (7, 1), (5, 5), (9, 9), (2, 2), (5, 6)]:
        expected[true, guess] += 1
    assert_close(submission.confusion_matrix(PREDICTED, LABELS), expected, name="confusion matrix",
                 hints={"rows are the true classes and columns the predicted ones: count at "
                        "[label, prediction]": expected.T})


@pytest.mark.points(3)
def test_worst_mistakes(submission):
    """Examples 1, 3 and 4 are wrong, with confidences 0.6, 0.9 and 0.5: the worst first is [3, 1]."""
    probs = np.array([[0.8, 0.1, 0.1],
                      [0.6, 0.3, 0.1],
                      [0.2, 0.2, 0.6],
                      [0.05, 0.05, 0.9],
                      [0.3, 0.5, 0.2]])
    labels = np.array([0, 1, 2, 0, 2])
    assert_close(submission.worst_mistakes(probs, labels, 2), np.array([3, 1]),
                 name="worst_mistakes(probs, labels, 2)",
                 hints={"the most confident mistake comes first: sort by confidence, largest first":
                        np.array([4, 1])})
    assert_close(submission.worst_mistakes(probs, labels, 5), np.array([3, 1, 4]),
                 name="worst_mistakes(probs, labels, 5), with only 3 mistakes")


@pytest.mark.points(4)
@pytest.mark.call_seconds(30)
def test_classifier_reaches_90_percent_on_validation_digits(submission, mnist, figures, measured):
    """Trained on 10,000 training digits, measured on 5,000 training digits it never saw."""
    images, labels = mnist["train_images"], mnist["train_labels"]
    model = submission.train_classifier(images[:10000], labels[:10000])
    if not isinstance(model, Handle):  # numbers came back, not the model object that stays in the sandbox
        raise CheckFailed(f"train_classifier: it returned {type(model).__name__}, not a model. "
                          "Hint: return the trained DigitNet (fit returns it)")
    X = submission.prepare(images[55000:])
    assert_shape(X, (5000, 784), "prepare(images)")
    predicted = model.predict(X)
    share_right(predicted, labels[55000:], "model.predict(prepare(images))")  # one integer label per digit
    figures.confusion("validation digits: true class (rows) against your classifier's answer",
                      labels[55000:], predicted)
    show_worst_mistakes(figures, model, X, images[55000:], labels[55000:])
    try:
        assert_accuracy(predicted, labels[55000:], 0.90, "your classifier on 5,000 validation digits",
                        measured=measured)
    except CheckFailed as failure:
        top = float(np.max(X))  # the evidence for this hint: the student's own prepared pixels
        if top > 1.0:
            raise CheckFailed(f"{str(failure).rstrip('.')}. Hint: prepare gives pixels up to {top:g}; "
                              "the library expects them in [0, 1]: divide by 255") from None
        raise
