"""Public tests for the PyTorch MLP: run them with `grader check pytorch` where torch is installed.

The grader has no torch of its own: it reads your model's weights as numpy and recomputes what the model
should output, and what one SGD step should do to it, with the numpy MLP of step 09.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_close, assert_shape

SHAPES = {"W1": (784, 32), "b1": (32,), "W2": (32, 10), "b2": (10,)}


def weights_of(submission, model):
    """The model's weights, their layout checked before any arithmetic uses them."""
    weights = submission.model_weights(model)
    assert isinstance(weights, dict) and sorted(weights) == sorted(SHAPES), \
        f"model_weights must return a dict with the keys {sorted(SHAPES)}"
    for key, shape in SHAPES.items():
        assert_shape(weights[key], shape, key)
    for key in ("W1", "W2"):  # a model of constant weights (zeros) agrees with itself and learns nothing
        assert np.ptp(weights[key]) > 0, f"{key} is constant ({float(weights[key].flat[0]):g} everywhere): " \
                                         "a model starts from random weights (nn.Linear initialises them)"
    return weights


def scores(weights, images):
    x = images.reshape(len(images), -1).astype(np.float64) / 255
    hidden = np.maximum(0, x @ weights["W1"] + weights["b1"])
    return hidden @ weights["W2"] + weights["b2"]


def sgd_expected(weights, images, labels, lr):
    """The loss and the weights after one SGD step on the mean cross-entropy, in float64."""
    x = images.reshape(len(images), -1).astype(np.float64) / 255
    hidden = np.maximum(0, x @ weights["W1"] + weights["b1"])
    logits = hidden @ weights["W2"] + weights["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(probs[np.arange(n), labels]).mean()
    dlogits = probs
    dlogits[np.arange(n), labels] -= 1
    dlogits /= n
    dhidden = dlogits @ weights["W2"].T * (hidden > 0)
    grads = {"W2": hidden.T @ dlogits, "b2": dlogits.sum(axis=0), "W1": x.T @ dhidden,
             "b1": dhidden.sum(axis=0)}
    return loss, {key: weights[key] - lr * grads[key] for key in weights}


@pytest.mark.points(1)
def test_get_device(submission):
    device = submission.get_device()
    assert device in ("cuda", "cpu"), f"get_device() returned {device!r}, expected 'cuda' or 'cpu'"


@pytest.mark.points(2)
def test_build_model_weights(submission):
    model = submission.build_model(32, 0)
    weights = weights_of(submission, model)
    for key in SHAPES:
        assert weights[key].dtype == np.float32, f"{key}: dtype {weights[key].dtype}, expected float32"
    assert submission.model_device(model) == submission.get_device(), "the model is not on get_device()"


@pytest.mark.points(3)
def test_forward_matches_the_weights(submission, mnist):
    model = submission.build_model(32, 1)
    weights = weights_of(submission, model)
    images = mnist["train_images"][:6]
    assert_close(submission.forward(model, images), scores(weights, images).astype(np.float32),
                 name="scores", rtol=1e-4, atol=1e-5)


@pytest.mark.points(3)
def test_sgd_step(submission, mnist):
    model = submission.build_model(32, 2)
    before = weights_of(submission, model)
    images, labels = mnist["train_images"][:16], mnist["train_labels"][:16].astype(np.int64)
    loss = submission.sgd_step(model, images, labels, 0.5)
    expected_loss, expected = sgd_expected(before, images, labels, 0.5)
    assert_close(loss, expected_loss, name="loss before the step", rtol=1e-4)
    after = weights_of(submission, model)
    for key in SHAPES:
        assert_close(after[key], expected[key].astype(np.float32), name=f"{key} after the step",
                     rtol=1e-4, atol=1e-6)


@pytest.mark.points(4)
@pytest.mark.call_seconds(60)
def test_train_and_predict(submission, mnist, measured):
    model = submission.train(mnist["train_images"][:8000], mnist["train_labels"][:8000].astype(np.int64), 0)
    predicted = submission.predict(model, mnist["train_images"][50000:52000])
    assert_accuracy(predicted, mnist["train_labels"][50000:52000].astype(np.int64), at_least=0.85,
                    measured=measured)
