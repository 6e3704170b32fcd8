"""Hidden tests for the MNIST MLP: the pieces against the reference, and accuracy on held-out digits.

The test digits are perturbed with seeded pixel noise that leaves them perfectly readable, so a
submission that looks answers up by the exact images cannot pass, and their labels never leave the judge.
"""

import numpy as np
import pytest

from grader.judge.checks import (accuracy, assert_accuracy, assert_accuracy_explained, assert_close,
                                 assert_params, assert_shape)
from grader.judge.datasets import held_out_digits


def random_params(rng, sizes):
    return {key: value for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]), 1)
            for key, value in ((f"W{k}", rng.normal(size=(i, o)) / np.sqrt(i)), (f"b{k}", rng.normal(size=o) * 0.1))}


@pytest.mark.points(2)
def test_preprocess_random_images(submission, reference, rng):
    images = rng.integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    expected = reference.preprocess(images)
    assert_close(submission.preprocess(images), expected, name="preprocessed images", rtol=1e-6,
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(2)
def test_init_params_deeper(submission, reference):
    params = submission.init_params([784, 64, 32, 10], 3)
    expected = reference.init_params([784, 64, 32, 10], 3)
    assert isinstance(params, dict) and sorted(params) == sorted(expected), \
        f"expected the keys {sorted(expected)}"
    for key in expected:
        assert_shape(params[key], expected[key].shape, key)
    for key, fan_in in (("W2", 64), ("W3", 32)):
        std = float(params[key].std())
        assert abs(std / np.sqrt(2 / fan_in) - 1) < 0.15, \
            f"{key} has standard deviation {std:.3f}; He initialisation gives sqrt(2 / {fan_in})"
    assert_close(params["b3"], np.zeros(10), name="b3")


@pytest.mark.points(1)
def test_init_params_follows_the_seed(submission, reference):
    expected = reference.init_params([20, 7, 3], 11)
    params = submission.init_params([20, 7, 3], 11)
    assert_close(params["W1"], expected["W1"], name="W1 with seed 11",
                 hints={"draw with np.random.default_rng(seed).normal, layer by layer": expected["W2"]})


@pytest.mark.points(2)
@pytest.mark.parametrize("sizes", [[6, 3], [6, 8, 4], [10, 9, 8, 7, 5]])
def test_forward_matches_reference(submission, reference, rng, sizes):
    params = random_params(rng, sizes)
    X = rng.normal(size=(9, sizes[0]))
    assert_close(submission.forward(params, X), reference.forward(params, X), name="scores")


@pytest.mark.points(3)
@pytest.mark.parametrize("sizes", [[6, 3], [8, 10, 4], [5, 6, 7, 3]])
def test_loss_and_grads_match_reference(submission, reference, rng, sizes):
    params = random_params(rng, sizes)
    X, y = rng.normal(size=(11, sizes[0])), rng.integers(0, sizes[-1], size=11)
    loss, grads = submission.loss_and_grads(params, X, y)
    ref_loss, ref_grads = reference.loss_and_grads(params, X, y)
    assert_close(loss, ref_loss, name="loss", hints={"average the loss over the batch": ref_loss * 11})
    assert isinstance(grads, dict), "loss_and_grads must return (loss, grads) with grads a dict"
    for key in ref_grads:
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}']",
                     hints={"divide the gradient by the batch size N": ref_grads[key] * 11})


@pytest.mark.points(1)
def test_loss_stays_finite_for_large_scores(submission, reference, rng):
    params = random_params(rng, [4, 5, 3])
    params["b2"] = np.array([1000.0, -900.0, 950.0])
    X, y = rng.normal(size=(3, 4)), np.array([0, 1, 2])
    loss, grads = submission.loss_and_grads(params, X, y)
    if not np.isfinite(loss):
        raise AssertionError(f"loss is {loss} for class scores near 1000. Subtract each row's maximum "
                             "score before exp: softmax does not change, overflow goes away.")
    ref_loss, ref_grads = reference.loss_and_grads(params, X, y)
    assert_close(loss, ref_loss, name="loss for scores near 1000")
    assert_close(grads.get("b2"), ref_grads["b2"], name="grads['b2'] for scores near 1000")


@pytest.mark.points(2)
def test_predict_returns_labels(submission, reference, rng, mnist):
    params = random_params(rng, [784, 16, 10])
    images = mnist["test_images"][:50]
    predicted = submission.predict(params, images)
    expected = reference.predict(params, images)
    accuracy(predicted, expected, name="predictions")  # one integer label per image
    if np.array_equal(predicted, expected):
        return
    # Name the function at fault: predict's own step (the argmax) or the forward pass it builds on.
    own = submission.forward(params, submission.preprocess(images))
    assert_shape(own, (len(images), 10), name="forward(params, preprocess(images))")
    wrong = int((predicted != expected).sum())
    if np.array_equal(predicted, own.argmax(axis=1)):
        raise AssertionError(f"predict is wrong on {wrong} of {len(images)} images, but it agrees with your "
                             "forward + argmax: the mistake is in preprocess or forward, not in predict")
    raise AssertionError(f"predict disagrees with your forward + argmax (and with the right labels) on "
                         f"{wrong} of {len(images)} images: predict must be the argmax of forward's scores")


def mlp_contract(params):
    """W1 (784, H1), b1 (H1,), ..., WL (H_{L-1}, 10), bL (10,): any depth, widths of the student's choice."""
    layers = sum(1 for key in params if isinstance(key, str) and key[:1] == "W" and key[1:].isdigit())
    sizes = [784] + [f"H{k}" for k in range(1, layers)] + [10]
    shapes = {}
    for k in range(1, max(layers, 1) + 1):
        shapes[f"W{k}"], shapes[f"b{k}"] = (sizes[k - 1], sizes[k]), (sizes[k],)
    return shapes


@pytest.mark.points(10)
@pytest.mark.call_seconds(30)
def test_trained_network_on_held_out_digits(submission, reference, mnist, figures, measured):
    params = submission.train(mnist["train_images"], mnist["train_labels"], 12)
    assert isinstance(params, dict), "train must return the params dict"
    params = assert_params(params, mlp_contract(params), "train's params", max_elements=1_000_000)
    images, labels = held_out_digits(mnist, seed=909)
    # The judge runs the forward pass itself: the student's params are numbers, nothing else.
    predicted = reference.forward(params, reference.preprocess(images)).argmax(axis=1)
    figures.confusion("held-out digits: true class (rows) against your network's answer", labels, predicted)
    seen = mnist["train_images"][:10000]
    assert_accuracy_explained(predicted, labels, 0.95, "the trained network on 10,000 held-out digits",
                              train_predictions=lambda: reference.forward(params, reference.preprocess(seen))
                              .argmax(axis=1), train_labels=mnist["train_labels"][:10000], measured=measured)
    own = submission.predict(params, images)
    assert_accuracy(own, labels, at_least=0.95, name="your predict() on 10,000 held-out digits",
                    measured=measured)
