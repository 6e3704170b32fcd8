"""Logistic regression: the sigmoid, a cross-entropy that stays finite, its gradient, and training.

X is float64 (N, D), labels y are 0 or 1 (N,), w is (D,) and b a float. The model's probability of
class 1 is sigmoid(X @ w + b).
"""

import numpy as np


def sigmoid(z):
    """1 / (1 + exp(-z)) elementwise, without overflow warnings for z in the thousands of either sign."""
    ### BEGIN SOLUTION
    out = np.empty_like(z, dtype=float)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    ez = np.exp(z[~positive])
    out[~positive] = ez / (1.0 + ez)
    return out
    ### END SOLUTION


def cross_entropy_from_logits(z, y):
    """Mean binary cross-entropy of labels y (N,) against logits z (N,): a float.

    Equal to -mean(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), computed so that it stays finite
    (and exact) for logits like +-1000: use max(z, 0) - z y + log(1 + exp(-|z|)).
    """
    ### BEGIN SOLUTION
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    ### END SOLUTION


def gradients(X, y, w, b):
    """(dL/dw (D,), dL/db float) of the mean cross-entropy of the model on (X, y)."""
    ### BEGIN SOLUTION
    errors = sigmoid(X @ w + b) - y
    return X.T @ errors / len(y), float(errors.mean())
    ### END SOLUTION


def train(X, y, learning_rate, steps):
    """Gradient descent from w = 0, b = 0 for `steps` steps. Returns (w, b)."""
    ### BEGIN SOLUTION
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        dw, db = gradients(X, y, w, b)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b
    ### END SOLUTION


def predict_labels(X, w, b):
    """Class 1 where the model's probability is at least 0.5, else 0: int64 (N,)."""
    ### BEGIN SOLUTION
    return (X @ w + b >= 0).astype(np.int64)
    ### END SOLUTION
