"""Hidden tests of {{slug}}: other shapes, other slopes, compared with the reference solution."""

import numpy as np
import pytest

from grader.judge.checks import assert_close


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", [(1,), (4, 5), (2, 3, 4)])
def test_leaky_relu_forward_matches_reference(submission, reference, rng, shape):
    """leaky_relu_forward agrees with the reference on random inputs of several shapes."""
    x = rng.normal(size=shape)
    assert_close(submission.leaky_relu_forward(x, 0.2), reference.leaky_relu_forward(x, 0.2), name="out")


@pytest.mark.points(2)
def test_leaky_relu_backward_matches_reference(submission, reference, rng):
    """leaky_relu_backward agrees with the reference for a slope other than the default."""
    x, dout = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    assert_close(submission.leaky_relu_backward(dout, x, 0.3), reference.leaky_relu_backward(dout, x, 0.3),
                 name="dx", hints={"where x <= 0 the gradient must be multiplied by the slope": dout})
