"""Public tests for the CNN layers: run them with `grader check cnn-layers`.

Backward passes are checked against numerical gradients of your own forward functions, on small inputs.
"""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close, assert_raises, assert_shape
from grader.judge.gradcheck import check_gradient, partial


@pytest.mark.points(2)
def test_conv_output_size(submission):
    assert submission.conv_output_size(7, 3, 1, 0) == 5, "7 wide, 3x3 filter, stride 1, no padding: 5"
    assert submission.conv_output_size(7, 3, 2, 1) == 4, "7 wide, 3x3 filter, stride 2, padding 1: 4"
    assert_raises("ValueError", submission.conv_output_size, 6, 3, 2, 0)


@pytest.mark.points(4)
def test_conv_forward_small(submission):
    x = np.linspace(-1, 1, 32).reshape(1, 2, 4, 4)
    w = np.linspace(-0.5, 0.5, 36).reshape(2, 2, 3, 3)
    b = np.array([0.1, -0.2])
    expected = np.array([[[[2.3285714286, 2.0299539171], [1.1341013825, 0.835483871]],
                          [[0.535483871, 0.8341013825], [1.7299539171, 2.0285714286]]]])
    assert_close(submission.conv_forward(x, w, b, 1, 0), expected, name="out", rtol=1e-8)


@pytest.mark.points(2)
def test_conv_forward_shape_with_padding_and_stride(submission):
    rng = np.random.default_rng(103)
    out = submission.conv_forward(rng.normal(size=(2, 3, 9, 7)), rng.normal(size=(4, 3, 3, 3)),
                                  np.zeros(4), 2, 1)
    assert_shape(out, (2, 4, 5, 4), name="out")
    # The shape alone is not the answer: a checksum of the values (a slip in the padding or the stride
    # moves it) must be right too.
    assert_close(float(np.sum(out.astype(float) ** 2)), 2918.89325238, name="sum of out ** 2 (a checksum)")


@pytest.mark.points(4)
def test_conv_backward_gradient_check(submission):
    rng = np.random.default_rng(101)
    x, w, b = rng.normal(size=(1, 2, 4, 4)), rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    dout = rng.normal(size=(1, 2, 4, 4))
    dx, dw, db = submission.conv_backward(dout, x, w, b, 1, 1)
    with assert_all() as check:
        for at, grad, name in ((0, dx, "dx"), (1, dw, "dw"), (2, db, "db")):
            check(check_gradient, grad, partial(submission.conv_forward, (x, w, b, 1, 1), at), (x, w, b)[at], name,
                  upstream=dout, expected_value=-27.4457796418,
                  what="conv_forward() (stride 1, pad 1)")


@pytest.mark.points(2)
def test_max_pool_forward(submission):
    x = np.array([[[[1.0, 5, 2, 0], [3, 4, 8, 1], [0, -1, 2, 2], [6, 7, 3, 9]]]])
    assert_close(submission.max_pool_forward(x, 2, 2), np.array([[[[5.0, 8], [7, 9]]]]), name="out")


@pytest.mark.points(3)
def test_max_pool_backward_gradient_check(submission):
    rng = np.random.default_rng(102)
    x = rng.normal(size=(2, 2, 4, 4))
    dout = rng.normal(size=(2, 2, 2, 2))
    dx = submission.max_pool_backward(dout, x, 2, 2)
    check_gradient(dx, partial(submission.max_pool_forward, (x, 2, 2), 0), x, "dx", upstream=dout,
                   expected_value=-9.36222890782, what="max_pool_forward()")


@pytest.mark.points(2)
def test_vertical_edge_filter(submission):
    assert_close(submission.vertical_edge_filter(), np.array([[1.0, 0, -1]] * 3), name="filter")


@pytest.mark.points(2)
def test_detect_vertical_edges_finds_the_edge(submission):
    image = np.zeros((6, 6))
    image[:, :3] = 10.0  # bright on the left, dark on the right
    expected = np.array([[0.0, 30, 30, 0]] * 4)
    assert_close(submission.detect_vertical_edges(image), expected, name="edge response")
