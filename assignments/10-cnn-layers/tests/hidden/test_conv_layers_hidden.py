"""Hidden tests for the CNN layers: many shapes, strides and paddings, compared with the reference."""

import numpy as np
import pytest

from grader.judge.checks import CheckFailed, assert_all, assert_close, assert_raises
from grader.judge.gradcheck import assert_gradient, numeric_gradient
from grader.judge.verdicts import StudentError

# (N, C, H, W), (F, HH, WW), stride, pad
CONFIGS = [
    ((1, 1, 5, 5), (1, 3, 3), 1, 0),
    ((2, 3, 8, 8), (4, 3, 3), 1, 1),
    ((2, 3, 9, 7), (2, 3, 3), 2, 1),
    ((3, 2, 6, 6), (5, 1, 1), 1, 0),
    ((1, 4, 7, 9), (3, 3, 5), 2, 2),
    ((2, 1, 10, 10), (2, 4, 4), 3, 0),
    ((1, 2, 5, 5), (2, 5, 5), 1, 2),
]


def make(rng, xs, fs):
    x = rng.normal(size=xs)
    w = rng.normal(size=(fs[0], xs[1], fs[1], fs[2]))
    return x, w, rng.normal(size=fs[0])


@pytest.mark.points(1)
@pytest.mark.parametrize("size,filt,stride,pad,expected", [
    (28, 5, 1, 0, 24), (28, 5, 1, 2, 28), (31, 3, 2, 1, 16), (4, 4, 1, 0, 1),
    (10, 4, 3, 0, 3), (7, 7, 1, 3, 7)])
def test_conv_output_size_values(submission, size, filt, stride, pad, expected):
    got = submission.conv_output_size(size, filt, stride, pad)
    if not (is_int(got) and got == expected):  # only then: the probes below cost calls
        assert_close(got, expected, name="output size",
                     hints=output_size_hints(submission, (size, filt, stride, pad), expected))


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# Sizes on which the known slips give answers different from each other and from the right one.
PROBES = [(28, 5, 1, 2), (31, 3, 2, 1), (7, 7, 1, 3), (9, 3, 3, 0), (10, 4, 2, 1)]
SLIPS = {
    "the padding is missing: add 2 * pad to the input size":
        lambda size, filt, stride, pad: (size - filt) // stride + 1,
    "pad both sides: the input grows by 2 * pad, not pad":
        lambda size, filt, stride, pad: (size + pad - filt) // stride + 1,
    "the + 1 is missing: a filter that fits exactly once gives one output":
        lambda size, filt, stride, pad: (size + 2 * pad - filt) // stride,
    "the stride is missing: divide (size + 2 * pad - filt) by the stride before adding 1":
        lambda size, filt, stride, pad: size + 2 * pad - filt + 1,
}


def output_size_hints(submission, case, expected):
    """The slip in (size + 2 * pad - filt) // stride + 1 that explains this answer *and* the answers on
    the probes: one coincidence (a stride slip that happens to equal a padding slip here) is no
    evidence, so a hint is given only for a slip that matches everywhere the student answered."""
    answers = {case: submission.conv_output_size(*case)}
    for probe in PROBES:
        try:
            answers[probe] = submission.conv_output_size(*probe)
        except StudentError:
            continue
    answers = {args: got for args, got in answers.items() if is_int(got)}
    if case not in answers:
        return {}
    return {hint: answers[case] for hint, slip in SLIPS.items()
            if slip(*case) != expected and all(slip(*args) == got for args, got in answers.items())}


@pytest.mark.points(1)
@pytest.mark.parametrize("size,filt,stride,pad", [(6, 3, 2, 0), (5, 7, 1, 0), (8, 3, 3, 1)])
def test_conv_output_size_refuses_bad_tilings(submission, size, filt, stride, pad):
    assert_raises("ValueError", submission.conv_output_size, size, filt, stride, pad)


@pytest.mark.points(2)
@pytest.mark.parametrize("xs,fs,stride,pad", CONFIGS)
def test_conv_forward_matches_reference(submission, reference, rng, xs, fs, stride, pad):
    x, w, b = make(rng, xs, fs)
    expected = reference.conv_forward(x, w, b, stride, pad)
    flipped = reference.conv_forward(x, w[:, :, ::-1, ::-1].copy(), b, stride, pad)
    out = submission.conv_forward(x, w, b, stride, pad)
    check_output_shape(out, expected.shape, xs, fs, stride, pad)
    assert_close(out, expected, name="out",
                 hints={"the filter is flipped: this layer computes cross-correlation, w is not reversed":
                        flipped})


def check_output_shape(out, shape, xs, fs, stride, pad):
    """A wrong output shape, named by the formula it follows: no padding, or no stride (each only
    where it gives a shape of its own)."""
    if not isinstance(out, np.ndarray) or out.shape == shape:
        return
    n, f = xs[0], fs[0]
    no_pad = (n, f, (xs[2] - fs[1]) // stride + 1, (xs[3] - fs[2]) // stride + 1)
    no_stride = (n, f, xs[2] + 2 * pad - fs[1] + 1, xs[3] + 2 * pad - fs[2] + 1)
    slips = {no_pad: "the padding is missing: pad the input by `pad` on each side first",
             no_stride: "the stride is missing: the filter moves `stride` pixels at a time"}
    hint = slips.get(out.shape) if no_pad != no_stride and out.shape != shape else None
    if hint:
        raise CheckFailed(f"out: shape {out.shape}, expected {shape}. Hint: {hint}")


@pytest.mark.points(2)
@pytest.mark.parametrize("xs,fs,stride,pad", CONFIGS)
def test_conv_backward_matches_reference(submission, reference, rng, xs, fs, stride, pad):
    x, w, b = make(rng, xs, fs)
    dout = rng.normal(size=reference.conv_forward(x, w, b, stride, pad).shape)
    got = submission.conv_backward(dout, x, w, b, stride, pad)
    assert isinstance(got, tuple) and len(got) == 3, "conv_backward must return (dx, dw, db)"
    check_not_padded(got[0], xs, pad)
    with assert_all() as check:
        for name, g, e in zip(("dx", "dw", "db"), got, reference.conv_backward(dout, x, w, b, stride, pad)):
            check(assert_close, g, e, name=name)


def check_not_padded(dx, x_shape: tuple, pad: int) -> None:
    """A dx shaped like the padded input names that slip (the padding is a hidden input: not in the hint)."""
    n, c, h, w = x_shape
    if pad and np.shape(dx) == (n, c, h + 2 * pad, w + 2 * pad):
        raise CheckFailed(f"dx: shape {np.shape(dx)}, expected {tuple(x_shape)}. Hint: that is the padded "
                          "input's shape: crop the padding rows and columns off again so that dx is shaped "
                          "like x")


@pytest.mark.points(3)
def test_conv_backward_against_numerical_gradient(submission, reference, rng):
    x, w, b = make(rng, (2, 2, 5, 5), (3, 3, 3))
    dout = rng.normal(size=(2, 3, 3, 3))
    dx, dw, db = submission.conv_backward(dout, x, w, b, 2, 1)
    check_not_padded(dx, x.shape, 1)
    assert_gradient(dx, numeric_gradient(lambda v: reference.conv_forward(v, w, b, 2, 1), x, dout), "dx")
    assert_gradient(dw, numeric_gradient(lambda v: reference.conv_forward(x, v, b, 2, 1), w, dout), "dw")
    assert_gradient(db, numeric_gradient(lambda v: reference.conv_forward(x, w, v, 2, 1), b, dout), "db")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape,size,stride", [((2, 2, 6, 6), 2, 2), ((1, 2, 5, 7), 3, 2)])
def test_max_pool_backward_against_numerical_gradient(submission, reference, rng, shape, size, stride):
    x = rng.permutation(np.arange(np.prod(shape), dtype=float)).reshape(shape) / 10  # distinct: no ties
    dout = rng.normal(size=reference.max_pool_forward(x, size, stride).shape)
    numeric = numeric_gradient(lambda v: reference.max_pool_forward(v, size, stride), x, dout)
    assert_gradient(submission.max_pool_backward(dout, x, size, stride), numeric, "dx")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape,size,stride", [((2, 3, 8, 8), 2, 2), ((1, 2, 7, 7), 3, 2),
                                               ((2, 1, 6, 9), 3, 3), ((1, 1, 5, 5), 2, 1),
                                               ((1, 2, 5, 5), 2, 2), ((2, 2, 4, 6), 1, 1)])
def test_max_pool_matches_reference(submission, reference, rng, shape, size, stride):
    x = rng.normal(size=shape)
    out = reference.max_pool_forward(x, size, stride)
    assert_close(submission.max_pool_forward(x, size, stride), out, name="out")
    dout = rng.normal(size=out.shape)
    expected = reference.max_pool_backward(dout, x, size, stride)
    everywhere = np.zeros_like(x)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            everywhere[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += \
                dout[:, :, i, j][:, :, None, None]
    assert_close(submission.max_pool_backward(dout, x, size, stride), expected, name="dx",
                 hints={"the gradient must go only to each window's maximum, not to every element":
                        everywhere})


@pytest.mark.points(2)
def test_max_pool_backward_ties_go_to_the_first_maximum(submission):
    x = np.array([[[[3.0, 3.0], [1.0, 3.0]]]])
    expected = np.array([[[[2.0, 0.0], [0.0, 0.0]]]])
    assert_close(submission.max_pool_backward(np.array([[[[2.0]]]]), x, 2, 2), expected, name="dx",
                 hints={"with ties, the gradient goes to the first maximum only, not split or copied":
                        np.array([[[[2.0, 2.0], [0.0, 2.0]]]])})


@pytest.mark.points(2)
def test_edges_in_both_directions(submission, reference, rng):
    image = np.zeros((5, 8))
    image[:, 4:] = 7.0  # dark to bright: a negative response
    assert_close(submission.detect_vertical_edges(image), reference.detect_vertical_edges(image),
                 name="edge response")
    horizontal = np.zeros((6, 7))
    horizontal[3:] = 5.0  # a horizontal edge: the vertical-edge filter must not respond
    assert_close(submission.detect_vertical_edges(horizontal), np.zeros((4, 5)),
                 name="edge response to a horizontal edge")
    noisy = rng.normal(size=(9, 11))
    assert_close(submission.detect_vertical_edges(noisy), reference.detect_vertical_edges(noisy),
                 name="edge response on a random image")
