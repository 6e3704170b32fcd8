"""Hidden tests for the MNIST CNN: every piece against the reference on random shapes, ties, padding
and strides, gradient checks, and accuracy on held-out digits.

The test digits are perturbed with seeded pixel noise that leaves them perfectly readable, so a
submission that looks answers up by the exact images cannot pass, and their labels never leave the judge.
"""

import numpy as np
import pytest

from grader.judge.checks import (accuracy, assert_accuracy, assert_accuracy_explained, assert_all,
                                 assert_close, assert_params, assert_shape)
from grader.judge.datasets import held_out_digits
from grader.judge.gradcheck import assert_gradient, numeric_gradient

# (N, C, H, W, field, stride, pad): odd and even sizes, non-square images, strides, padding, 1x1 filters
CONFIGS = [(1, 1, 4, 4, 3, 1, 1), (2, 3, 7, 5, 3, 2, 1), (3, 2, 6, 8, 2, 2, 0), (2, 2, 5, 6, 1, 1, 0),
           (1, 2, 5, 5, 5, 1, 2)]


def random_params(rng, filters, channels, size, field):
    return {"W1": rng.normal(size=(filters, channels, field, field)) / field,
            "b1": rng.normal(size=filters) * 0.1,
            "W2": rng.normal(size=(filters * (size // 2) ** 2, 10)) / np.sqrt(filters * (size // 2) ** 2),
            "b2": rng.normal(size=10) * 0.1}


def conv_inputs(rng, n, c, h, w, field):
    return rng.normal(size=(n, c, h, w)), rng.normal(size=(c + 1, c, field, field)), rng.normal(size=c + 1)


@pytest.mark.points(1)
def test_preprocess_random_images(submission, reference, rng):
    images = rng.integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    expected = reference.preprocess(images)
    assert_close(submission.preprocess(images), expected, name="preprocessed images", rtol=1e-6,
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(1)
@pytest.mark.parametrize("config", CONFIGS)
def test_im2col_matches_reference(submission, reference, rng, config):
    n, c, h, w, field, stride, pad = config
    x = rng.normal(size=(n, c, h, w))
    expected = reference.im2col(x, field, stride, pad)
    patch_major = expected.reshape(c, field, field, -1).transpose(0, 2, 1, 3).reshape(expected.shape)
    assert_close(submission.im2col(x, field, stride, pad), expected, name=f"im2col with {config}", hints={
        "the offsets inside a patch go row by row: index i * field + j for row i, column j": patch_major})


@pytest.mark.points(1)
@pytest.mark.parametrize("config", CONFIGS)
def test_col2im_matches_reference(submission, reference, rng, config):
    n, c, h, w, field, stride, pad = config
    cols = rng.normal(size=reference.im2col(np.zeros((n, c, h, w)), field, stride, pad).shape)
    assert_close(submission.col2im(cols, (n, c, h, w), field, stride, pad),
                 reference.col2im(cols, (n, c, h, w), field, stride, pad), name=f"col2im with {config}")


@pytest.mark.points(2)
def test_col2im_is_the_adjoint_of_im2col(submission, rng):
    # <im2col(x), cols> = <x, col2im(cols)> for every x and cols: what makes dx of a convolution right.
    x, field, stride, pad = rng.normal(size=(2, 2, 6, 6)), 3, 1, 1
    cols = rng.normal(size=(2 * 9, 2 * 36))
    got_cols = submission.im2col(x, field, stride, pad)
    assert_shape(got_cols, cols.shape, name="im2col(x)")
    got_x = submission.col2im(cols, x.shape, field, stride, pad)
    assert_shape(got_x, x.shape, name="col2im(cols)")
    left, right = float(np.sum(got_cols * cols)), float(np.sum(x * got_x))
    assert abs(left) > 1e-6, "im2col of a random image is all zeros: it must copy the image's patches"
    assert np.isclose(left, right, rtol=1e-8), \
        f"<im2col(x), c> = {left:.6g} but <x, col2im(c)> = {right:.6g}: col2im must undo im2col's layout"


@pytest.mark.points(1)
@pytest.mark.parametrize("config", CONFIGS)
def test_conv_forward_matches_reference(submission, reference, rng, config):
    n, c, h, w, field, stride, pad = config
    x, wt, b = conv_inputs(rng, n, c, h, w, field)
    assert_close(submission.conv_forward(x, wt, b, stride, pad), reference.conv_forward(x, wt, b, stride, pad),
                 name=f"conv_forward with {config}")


@pytest.mark.points(1)
@pytest.mark.parametrize("config", CONFIGS)
def test_conv_backward_matches_reference(submission, reference, rng, config):
    n, c, h, w, field, stride, pad = config
    x, wt, b = conv_inputs(rng, n, c, h, w, field)
    dout = rng.normal(size=reference.conv_forward(x, wt, b, stride, pad).shape)
    got = submission.conv_backward(dout, x, wt, b, stride, pad)
    assert isinstance(got, tuple) and len(got) == 3, "conv_backward must return (dx, dw, db)"
    expected = reference.conv_backward(dout, x, wt, b, stride, pad)
    with assert_all() as check:
        for name, g, e in zip(("dx", "dw", "db"), got, expected):
            check(assert_close, g, e, name=f"{name} with {config}")


@pytest.mark.points(3)
def test_conv_backward_gradient_check(submission, reference, rng):
    x, w, b = rng.normal(size=(2, 2, 7, 7)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    dout = rng.normal(size=(2, 3, 4, 4))
    dx, dw, db = submission.conv_backward(dout, x, w, b, 2, 1)
    assert_gradient(dx, numeric_gradient(lambda v: reference.conv_forward(v, w, b, 2, 1), x, dout), "dx")
    assert_gradient(dw, numeric_gradient(lambda v: reference.conv_forward(x, v, b, 2, 1), w, dout), "dw")
    assert_gradient(db, numeric_gradient(lambda v: reference.conv_forward(x, w, v, 2, 1), b, dout), "db")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (3, 4, 6, 10)])
def test_max_pool_matches_reference(submission, reference, rng, shape):
    x = rng.normal(size=shape)
    dout = rng.normal(size=(*shape[:2], shape[2] // 2, shape[3] // 2))
    assert_close(submission.max_pool_forward(x), reference.max_pool_forward(x), name="pooled")
    assert_close(submission.max_pool_backward(dout, x), reference.max_pool_backward(dout, x), name="dx")


@pytest.mark.points(2)
def test_max_pool_backward_ties(submission, reference):
    # ReLU makes ties common: a window of zeros sends its gradient to its first (top-left) element only.
    x = np.array([[[[0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 2.0, 2.0],
                    [5.0, 3.0, -1.0, -1.0], [1.0, 5.0, -1.0, -1.0]]]])
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = reference.max_pool_backward(dout, x)
    assert_close(submission.max_pool_backward(dout, x), expected, name="dx with ties",
                 hints={"when a window holds its maximum twice, only the first (row-major) gets the gradient":
                        np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0],
                                    [3.0, 0.0, 4.0, 4.0], [0.0, 3.0, 4.0, 4.0]]]])})


@pytest.mark.points(3)
@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_mask_matches_reference(submission, reference, rng, p):
    x = rng.normal(size=(6, 40))
    out, mask = submission.dropout_forward(x, p, True, 21)
    ref_out, ref_mask = reference.dropout_forward(x, p, True, 21)
    hints = {"inverted dropout rescales the kept values by 1 / (1 - p)": ref_mask * (1 - p)}
    assert_close(mask, ref_mask, name=f"mask with p = {p}", hints=hints)
    assert_close(out, ref_out, name=f"out with p = {p}")


@pytest.mark.points(2)
def test_dropout_test_mode_and_backward(submission, rng):
    x, dout = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    out, mask = submission.dropout_forward(x, 0.6, False, 2)
    assert_close(out, x, name="test-mode output", hints={
        "at test time dropout does nothing: no mask, no rescaling": x * 0.4})
    assert_close(mask, np.ones_like(x), name="test-mode mask")
    mask = (rng.random(size=(5, 7)) > 0.5) * 2.0
    assert_close(submission.dropout_backward(dout, mask), dout * mask, name="dropout_backward")


@pytest.mark.points(2)
def test_init_params(submission, reference):
    params = submission.init_params(16, 2, 12, 5, 9)
    expected = reference.init_params(16, 2, 12, 5, 9)
    assert isinstance(params, dict) and sorted(params) == sorted(expected), f"expected the keys {sorted(expected)}"
    for key in expected:
        assert_shape(params[key], expected[key].shape, key)
    for key, fan_in in (("W1", 2 * 25), ("W2", 16 * 36)):
        std = float(params[key].std())
        assert abs(std / np.sqrt(2 / fan_in) - 1) < 0.15, \
            f"{key} has standard deviation {std:.3f}; He initialisation gives sqrt(2 / {fan_in})"
    for key in expected:
        assert_close(params[key], expected[key], name=f"{key} with seed 9 (draw W1, then W2, from one "
                                                      "np.random.default_rng(seed))")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(3, 1, 8, 8, 3), (2, 2, 6, 6, 5)])
def test_scores_match_reference(submission, reference, rng, shape):
    n, c, size, _, field = shape
    params = random_params(rng, 4, c, size, field)
    X = rng.normal(size=(n, c, size, size))
    assert_close(submission.scores(params, X), reference.scores(params, X), name=f"scores with {field}x{field} filters")


@pytest.mark.points(3)
@pytest.mark.parametrize("p", [0.0, 0.4])
def test_loss_and_grads_match_reference(submission, reference, rng, p):
    params = random_params(rng, 3, 2, 6, 3)
    X, y = rng.normal(size=(7, 2, 6, 6)), rng.integers(0, 10, size=7)
    loss, grads = submission.loss_and_grads(params, X, y, p, 5)
    ref_loss, ref_grads = reference.loss_and_grads(params, X, y, p, 5)
    assert_close(loss, ref_loss, name=f"loss with p = {p}",
                 hints={"average the loss over the batch": ref_loss * 7})
    assert isinstance(grads, dict), "loss_and_grads must return (loss, grads) with grads a dict"
    for key in ref_grads:
        assert_close(grads.get(key), ref_grads[key], name=f"grads['{key}'] with p = {p}",
                     hints={"divide the gradient by the batch size N": ref_grads[key] * 7})


@pytest.mark.points(3)
def test_loss_and_grads_gradient_check(submission, reference, rng):
    params = random_params(rng, 2, 1, 8, 3)
    X, y = rng.normal(size=(3, 1, 8, 8)), rng.integers(0, 10, size=3)
    _, grads = submission.loss_and_grads(params, X, y, 0.3, 8)
    for key in ("W1", "b1", "W2"):
        numeric = numeric_gradient(lambda v, k=key: reference.loss_and_grads({**params, k: v}, X, y, 0.3, 8)[0],
                                   params[key])
        assert_gradient(grads[key], numeric, f"grads['{key}']")


@pytest.mark.points(2)
def test_relu_gradient_at_exactly_zero(submission, reference, rng, mnist):
    # Fresh biases are 0 and digits have blank borders, so many convolution outputs are exactly 0 at the
    # start of training, where ReLU passes no gradient; solid strokes also make equal maxima for pooling.
    params = random_params(rng, 3, 1, 28, 3)
    params["b1"] = np.zeros(3)
    X, y = reference.preprocess(mnist["train_images"][:4]).astype(np.float64), mnist["train_labels"][:4]
    _, grads = submission.loss_and_grads(params, X, y, 0.0, 2)
    _, ref_grads = reference.loss_and_grads(params, X, y, 0.0, 2)
    assert_close(grads.get("b1"), ref_grads["b1"], name="grads['b1'] on real digits with zero biases (where a "
                                                      "convolution output is exactly 0, ReLU passes no gradient: "
                                                      "use > 0; equal maxima in a pooling window: the first wins)")


@pytest.mark.points(1)
def test_loss_stays_finite_for_large_scores(submission, reference, rng):
    params = random_params(rng, 2, 1, 4, 3)
    params["b2"] = np.array([900.0, -900.0, 0, 0, 0, 0, 0, 0, 0, 1000.0])
    X, y = rng.normal(size=(2, 1, 4, 4)), np.array([0, 9])
    loss, grads = submission.loss_and_grads(params, X, y, 0.0, 1)
    ref_loss, ref_grads = reference.loss_and_grads(params, X, y, 0.0, 1)
    if not np.isfinite(loss):
        raise AssertionError(f"loss is {loss} for class scores near 1000. Subtract each row's maximum "
                             "score before exp: softmax does not change, overflow goes away.")
    assert_close(loss, ref_loss, name="loss for scores near 1000")
    assert_close(grads.get("b2"), ref_grads["b2"], name="grads['b2'] for scores near 1000")


@pytest.mark.points(2)
def test_predict_returns_labels(submission, reference, rng, mnist):
    params = random_params(rng, 4, 1, 28, 3)
    images = mnist["test_images"][:40]
    predicted = submission.predict(params, images)
    expected = reference.predict(params, images)
    accuracy(predicted, expected, name="predictions")  # one integer label per image
    if np.array_equal(predicted, expected):
        return
    # Name the function at fault: predict's own step (the argmax) or the scores pass it builds on.
    own = submission.scores(params, submission.preprocess(images))
    assert_shape(own, (len(images), 10), name="scores(params, preprocess(images))")
    wrong = int((predicted != expected).sum())
    if np.array_equal(predicted, own.argmax(axis=1)):
        raise AssertionError(f"predict is wrong on {wrong} of {len(images)} images, but it agrees with your "
                             "scores + argmax: the mistake is in preprocess or scores, not in predict")
    raise AssertionError(f"predict disagrees with your scores + argmax (and with the right labels) on "
                         f"{wrong} of {len(images)} images: predict must be the argmax of scores's scores")


@pytest.mark.points(10)
@pytest.mark.call_seconds(90)
def test_trained_network_on_held_out_digits(submission, reference, mnist, measured):
    params = submission.train(mnist["train_images"], mnist["train_labels"], 12)
    assert isinstance(params, dict) and {"W1", "b1", "W2", "b2"} <= set(params), \
        "train must return the params dict with W1, b1, W2, b2"
    # The contract, checked before the judge computes with them: F filters of K x K (K odd, padded to
    # keep 28 x 28), pooled to 14 x 14, then an affine layer to 10 classes. At most 64 filters of 7 x 7.
    params = assert_params(params, {"W1": ("F", 1, "K", "K"), "b1": ("F",), "W2": ("D", 10), "b2": (10,)},
                           "train's params")
    filters, field = params["W1"].shape[0], params["W1"].shape[2]
    assert field % 2 == 1 and field <= 7 and filters <= 64, \
        f"W1 has shape {params['W1'].shape}: expected at most 64 filters of an odd size up to 7 x 7"
    assert_shape(params["W2"], (filters * 14 * 14, 10), "train's params['W2'] (filters * 14 * 14 pooled values)")
    images, labels = held_out_digits(mnist, seed=1111)
    # The judge runs the network itself: the student's params are numbers, nothing else.
    predicted = reference.predict(params, images)
    assert_accuracy_explained(predicted, labels, 0.975, "the trained network on 10,000 held-out digits",
                              train_predictions=lambda: reference.predict(params, mnist["train_images"][:10000]),
                              train_labels=mnist["train_labels"][:10000], measured=measured)
    own = submission.predict(params, images)
    assert_accuracy(own, labels, at_least=0.975, name="your predict() on 10,000 held-out digits",
                    measured=measured)
