"""A softmax classifier: one-hot labels, softmax, cross-entropy, its gradient, and training.

Scores are (N, C) for N examples and C classes; labels are integers in [0, C). All floats are float64.
"""

import numpy as np


def one_hot(y, num_classes):
    """Labels y (N,) as rows of a float64 (N, C) matrix with a single 1 per row."""
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


def softmax(scores):
    """Row-wise softmax of scores (N, C): every row positive and summing to 1, finite for huge scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=1, keepdims=True)


def cross_entropy(probs, y):
    """Mean of -log(probs[i, y[i]]) over the rows: a float."""
    return float(-np.log(probs[np.arange(len(y)), y]).mean())


def loss_and_grads(W, b, X, y, reg):
    """Softmax classifier with L2 regularisation: scores = X @ W + b.

    W (D, C), b (C,), X (N, D), y (N,), reg >= 0. loss = mean cross-entropy + 0.5 * reg * sum(W ** 2).
    Returns (loss, dW, db).
    """
    probs = softmax(X @ W + b)
    loss = cross_entropy(probs, y) + 0.5 * reg * float(np.sum(W * W))
    dscores = (probs - one_hot(y, W.shape[1])) / len(y)
    return loss, X.T @ dscores, dscores.sum(axis=0)


def train(X, y, num_classes, seed):
    """Train W, b with gradient descent on loss_and_grads (a small reg); return (W, b).

    Start from small random W drawn with np.random.default_rng(seed) and b = 0.
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.01, size=(X.shape[1], num_classes))  # free: initial scale
    b = np.zeros(num_classes)
    for _ in range(300):  # free: number of steps
        _, dW, db = loss_and_grads(W, b, X, y, 1e-3)  # free: regularisation strength
        W -= 0.5 * dW  # free: learning rate
        b -= 0.5 * db  # free: learning rate
    return W, b
