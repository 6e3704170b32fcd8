"""Public tests of {{slug}}: run them with `grader check {{slug}}`."""

import numpy as np
import pytest

from grader.judge.checks import assert_close

X = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.0]])


@pytest.mark.points(2)
def test_leaky_relu_forward(submission):
    """leaky_relu_forward keeps positives and scales the rest by the slope."""
    expected = np.array([[-0.02, 0.0, 3.0], [1.5, -0.005, 0.0]])
    assert_close(submission.leaky_relu_forward(X), expected, name="out",
                 hints={"negative inputs must be scaled by the slope, not cut to 0": np.maximum(X, 0)})


@pytest.mark.points(3)
def test_leaky_relu_backward(submission):
    """leaky_relu_backward scales the upstream gradient by the slope where x <= 0."""
    dout = np.full_like(X, 2.0)
    expected = np.array([[0.02, 0.02, 2.0], [2.0, 0.02, 0.02]])
    assert_close(submission.leaky_relu_backward(dout, X), expected, name="dx",
                 hints={"where x <= 0 the gradient must be multiplied by the slope": dout})
