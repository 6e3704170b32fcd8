"""Public tests for the MNIST MLP: run them with `grader check mnist-mlp`.

The last test trains your network on 50,000 training digits and measures it on the other 10,000.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy_explained, assert_close, assert_shape
from grader.judge.gradcheck import check_gradient, partial


@pytest.mark.points(2)
def test_preprocess(submission):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 0, 1] = 255, 51, 102
    expected = np.zeros((2, 784), dtype=np.float32)
    expected[0, 0], expected[1, 783], expected[1, 1] = 1.0, 0.2, 0.4
    assert_close(submission.preprocess(images), expected, name="preprocessed images",
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(2)
def test_init_params(submission):
    params = submission.init_params([784, 256, 10], 0)
    assert isinstance(params, dict) and sorted(params) == ["W1", "W2", "b1", "b2"], \
        "init_params must return a dict with W1, b1, W2, b2"
    assert_shape(params["W1"], (784, 256), "W1")
    assert_shape(params["b2"], (10,), "b2")
    assert_close(params["b1"], np.zeros(256), name="b1")
    std = float(params["W1"].std())
    assert abs(std - np.sqrt(2 / 784)) < 0.003, f"W1 has standard deviation {std:.4f}, He initialisation " \
                                                 f"gives sqrt(2 / 784) = {np.sqrt(2 / 784):.4f}"


@pytest.mark.points(2)
def test_forward_small_net(submission):
    params = {"W1": np.array([[1.0, -1.0], [2.0, 0.5]]), "b1": np.array([0.0, -1.0]),
              "W2": np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0]]), "b2": np.array([0.5, 0.0, -0.5])}
    X = np.array([[1.0, 1.0], [-1.0, 2.0]])
    expected = np.array([[3.5, 0.0, 5.5], [2.5, 1.0, 5.5]])
    assert_close(submission.forward(params, X), expected, name="scores")


@pytest.mark.points(4)
def test_loss_and_grads_gradient_check(submission):
    rng = np.random.default_rng(91)
    params = {"W1": rng.normal(size=(5, 6)), "b1": rng.normal(size=6) * 0.1,
              "W2": rng.normal(size=(6, 4)), "b2": rng.normal(size=4) * 0.1,
              "W3": rng.normal(size=(4, 3)), "b3": rng.normal(size=3) * 0.1}
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    loss, grads = submission.loss_and_grads(params, X, y)
    assert np.isfinite(loss), f"the loss is {loss}"
    for key in ("W1", "b1", "W3", "b3"):
        check_gradient(grads[key], partial(submission.loss_and_grads, (params, X, y), 0, key, pick=0),
                       params[key], f"grads['{key}']", expected_value=2.99642176265,
                       what="the loss of loss_and_grads()", batch_size=7)


@pytest.mark.points(5)
@pytest.mark.call_seconds(30)
def test_training_reaches_95_percent_on_validation_digits(submission, mnist, measured):
    images, labels = mnist["train_images"], mnist["train_labels"]
    params = submission.train(images[:50000], labels[:50000], 7)
    predicted = submission.predict(params, images[50000:])
    assert_accuracy_explained(predicted, labels[50000:], 0.95, "predictions on 10,000 validation digits",
                              train_predictions=lambda: submission.predict(params, images[:10000]),
                              train_labels=labels[:10000], measured=measured)
