"""A leaky ReLU layer with numpy: the template's placeholder task (replace it with the step's own).

Every function takes and returns float64 arrays; x may have any shape.
"""

import numpy as np


def leaky_relu_forward(x, slope=0.01):
    """Leaky ReLU, elementwise: x where x > 0, slope * x elsewhere. Returns an array shaped like x."""
    ### BEGIN SOLUTION
    return np.where(x > 0, x, slope * x)
    ### END SOLUTION


def leaky_relu_backward(dout, x, slope=0.01):
    """Gradient of the leaky ReLU: dout where x > 0, slope * dout elsewhere (also at exactly 0).

    dout and x have the same shape; returns dx shaped like x.
    """
    ### BEGIN SOLUTION
    return np.where(x > 0, dout, slope * dout)
    ### END SOLUTION
