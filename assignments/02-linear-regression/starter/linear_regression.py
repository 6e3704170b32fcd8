"""Linear regression from scratch: the hypothesis, the mean squared error, its gradient, and descent.

X is (N, D) float64 (N examples, D features), y is (N,), w is (D,) and b a float. The cost is
J(w, b) = 1/(2N) * sum((X @ w + b - y)^2), the form whose gradient has no stray factor 2.
"""

import numpy as np


def predict(X, w, b):
    """The hypothesis h(x) = x . w + b for every row of X: (N,)."""
    # TODO: one line: the matrix-vector product plus the bias.
    raise NotImplementedError


def cost(X, y, w, b):
    """J(w, b) = 1/(2N) * sum of squared errors: a float."""
    # TODO: the sum of squared errors divided by 2N.
    raise NotImplementedError


def gradients(X, y, w, b):
    """(dJ/dw, dJ/db): an array (D,) and a float."""
    # TODO: the errors, then X.T @ errors / N and their mean.
    raise NotImplementedError


def gradient_descent(X, y, learning_rate, steps):
    """Start from w = 0, b = 0 and take `steps` gradient steps of size learning_rate.

    Returns (w, b, history) where history (steps + 1,) holds the cost before each step and after the last.
    """
    # TODO: start at zero and repeat: compute the gradients, step against them, record the cost.
    raise NotImplementedError


def normal_equation(X, y):
    """The exact least-squares (w, b), solved in closed form (hint: np.linalg.lstsq on [X, 1])."""
    # TODO: append a column of ones to X and solve the least-squares problem.
    raise NotImplementedError
