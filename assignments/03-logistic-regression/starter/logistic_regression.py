"""Logistic regression: the sigmoid, a cross-entropy that stays finite, its gradient, and training.

X is float64 (N, D), labels y are 0 or 1 (N,), w is (D,) and b a float. The model's probability of
class 1 is sigmoid(X @ w + b).
"""

import numpy as np


def sigmoid(z):
    """1 / (1 + exp(-z)) elementwise, without overflow warnings for z in the thousands of either sign."""
    # TODO: split on the sign of z, using for each half a form of the sigmoid whose exp cannot overflow.
    raise NotImplementedError


def cross_entropy_from_logits(z, y):
    """Mean binary cross-entropy of labels y (N,) against logits z (N,): a float.

    Equal to -mean(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), computed so that it stays finite
    (and exact) for logits like +-1000: use max(z, 0) - z y + log(1 + exp(-|z|)).
    """
    # TODO: the mean of the stable per-example loss the docstring gives (np.log1p is exact near 0).
    raise NotImplementedError


def gradients(X, y, w, b):
    """(dL/dw (D,), dL/db float) of the mean cross-entropy of the model on (X, y)."""
    # TODO: derive dL/dz for one example on paper first (it is short), then chain it to w and b and
    #       average over the batch.
    raise NotImplementedError


def train(X, y, learning_rate, steps):
    """Gradient descent from w = 0, b = 0 for `steps` steps. Returns (w, b)."""
    # TODO: start at zero and take `steps` gradient steps.
    raise NotImplementedError


def predict_labels(X, w, b):
    """Class 1 where the model's probability is at least 0.5, else 0: int64 (N,)."""
    # TODO: threshold the logits at 0 (probability 0.5) and return int64 labels.
    raise NotImplementedError
