"""Public tests for the MNIST CNN: run them with `grader check mnist-cnn`.

Convolution is checked against a slow, obvious loop written here, backward passes against numerical
gradients of your own forward functions, and the last test trains your network on 50,000 training digits
and measures it on the other 10,000.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy_explained, assert_all, assert_close, assert_shape
from grader.judge.gradcheck import check_gradient, partial


def slow_conv(x, w, b, stride, pad):
    """Convolution the obvious way: one dot product per image, filter and output position."""
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    field = w.shape[2]
    h_out = (padded.shape[2] - field) // stride + 1
    w_out = (padded.shape[3] - field) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], h_out, w_out))
    for n in range(x.shape[0]):
        for f in range(w.shape[0]):
            for i in range(h_out):
                for j in range(w_out):
                    patch = padded[n, :, i * stride:i * stride + field, j * stride:j * stride + field]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return out


@pytest.mark.points(1)
def test_preprocess(submission):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 27, 27] = 255, 51
    expected = np.zeros((2, 1, 28, 28), dtype=np.float32)
    expected[0, 0, 0, 0], expected[1, 0, 27, 27] = 1.0, 0.2
    assert_close(submission.preprocess(images), expected, name="preprocessed images",
                 hints={"scale the pixels to [0, 1]: divide by 255": expected * 255})


@pytest.mark.points(3)
def test_im2col_small(submission):
    x = np.arange(9, dtype=float).reshape(1, 1, 3, 3)
    # Four 2x2 patches, one per column; row i * 2 + j holds offset (i, j) of every patch.
    expected = np.array([[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]], dtype=float)
    assert_close(submission.im2col(x, 2, 1, 0), expected, name="im2col of a 3x3 image, 2x2 patches")


@pytest.mark.points(2)
def test_col2im_counts_overlaps(submission):
    # Adding ones back: every pixel collects one from each patch that covers it.
    counts = submission.col2im(np.ones((4, 4)), (1, 1, 3, 3), 2, 1, 0)
    expected = np.array([[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]], dtype=float)
    assert_close(counts, expected, name="col2im of ones", hints={
        "overlapping patches must add up (+=), not overwrite each other": np.ones((1, 1, 3, 3))})


@pytest.mark.points(3)
def test_conv_forward_matches_loops(submission, rng):
    x, w, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    for stride, pad in ((1, 1), (2, 0)):
        got = submission.conv_forward(x, w, b, stride, pad)
        assert_close(got, slow_conv(x, w, b, stride, pad), name=f"conv_forward (stride {stride}, pad {pad})")


@pytest.mark.points(3)
def test_conv_backward_gradient_check(submission):
    rng = np.random.default_rng(111)
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    dout = rng.normal(size=(2, 3, 5, 5))
    dx, dw, db = submission.conv_backward(dout, x, w, b, 1, 1)
    with assert_all() as check:
        for at, grad, name in ((0, dx, "dx"), (1, dw, "dw"), (2, db, "db")):
            check(check_gradient, grad, partial(submission.conv_forward, (x, w, b, 1, 1), at), (x, w, b)[at], name,
                  upstream=dout, expected_value=-78.2843817197,
                  what="conv_forward() (stride 1, pad 1)")


@pytest.mark.points(2)
def test_max_pool(submission):
    rng = np.random.default_rng(112)
    x = np.array([[[[1.0, 2.0, -1.0, 0.0], [4.0, 3.0, -2.0, -3.0],
                    [0.5, 0.0, 7.0, 9.0], [0.0, 0.25, 8.0, 6.0]]]])
    assert_close(submission.max_pool_forward(x), np.array([[[[4.0, 0.0], [0.5, 9.0]]]]), name="pooled")
    x = rng.normal(size=(2, 3, 4, 6))
    dout = rng.normal(size=(2, 3, 2, 3))
    check_gradient(submission.max_pool_backward(dout, x), submission.max_pool_forward, x,
                   "dx of max pooling", upstream=dout, expected_value=-4.18065583275,
                   what="max_pool_forward()")


@pytest.mark.points(2)
def test_dropout_train_and_test(submission, rng):
    x = rng.normal(size=(200, 50)) + 3.0
    out, mask = submission.dropout_forward(x, 0.25, True, 4)
    assert_shape(out, x.shape, "out")
    kept = out != 0
    share = 1 - kept.mean()
    assert 0.2 < share < 0.3, f"training mode dropped {share:.1%} of the values with p = 0.25"
    assert_close(out[kept], x[kept] / 0.75, name="kept values",
                 hints={"rescale the kept values by 1 / (1 - p) (inverted dropout)": x[kept]})
    assert_close(submission.dropout_backward(np.ones_like(x), mask), mask, name="dropout_backward of ones")
    test_out, _ = submission.dropout_forward(x, 0.25, False, 4)
    assert_close(test_out, x, name="test-mode output (nothing dropped, nothing rescaled)")


@pytest.mark.points(3)
def test_loss_and_grads_gradient_check(submission):
    rng = np.random.default_rng(113)
    params = {"W1": rng.normal(size=(3, 1, 3, 3)), "b1": rng.normal(size=3) * 0.1,
              "W2": rng.normal(size=(3 * 9, 10)) * 0.3, "b2": rng.normal(size=10) * 0.1}
    X, y = rng.normal(size=(4, 1, 6, 6)), rng.integers(0, 10, size=4)
    loss, grads = submission.loss_and_grads(params, X, y, 0.5, 3)
    assert np.isfinite(loss), f"the loss is {loss}"
    for key in ("W1", "b1", "W2", "b2"):
        check_gradient(grads[key], partial(submission.loss_and_grads, (params, X, y, 0.5, 3), 0, key, pick=0),
                       params[key], f"grads['{key}']", expected_value=18.6529917262,
                       what="the loss of loss_and_grads()", batch_size=4)


@pytest.mark.points(5)
@pytest.mark.call_seconds(45)
def test_training_on_20000_digits_reaches_96_percent(submission, mnist, measured):
    # A third of the training set keeps this check quick; the hidden test trains on all of it.
    images, labels = mnist["train_images"], mnist["train_labels"]
    params = submission.train(images[:20000], labels[:20000], 7)
    predicted = submission.predict(params, images[50000:])
    assert_accuracy_explained(predicted, labels[50000:], 0.96, "predictions on 10,000 validation digits",
                              train_predictions=lambda: submission.predict(params, images[:10000]),
                              train_labels=labels[:10000], measured=measured)
