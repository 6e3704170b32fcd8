"""A softmax classifier: one-hot labels, softmax, cross-entropy, its gradient, and training.

Scores are (N, C) for N examples and C classes; labels are integers in [0, C). All floats are float64.
"""

import numpy as np


def one_hot(y, num_classes):
    """Labels y (N,) as rows of a float64 (N, C) matrix with a single 1 per row."""
    # TODO: a zero matrix with a 1 at (i, y[i]) for every row i.
    raise NotImplementedError


def softmax(scores):
    """Row-wise softmax of scores (N, C): every row positive and summing to 1, finite for huge scores."""
    # TODO: subtract each row's maximum, exponentiate, divide by the row sums.
    raise NotImplementedError


def cross_entropy(probs, y):
    """Mean of -log(probs[i, y[i]]) over the rows: a float."""
    # TODO: pick each row's probability of its label, take -log, average.
    raise NotImplementedError


def loss_and_grads(W, b, X, y, reg):
    """Softmax classifier with L2 regularisation: scores = X @ W + b.

    W (D, C), b (C,), X (N, D), y (N,), reg >= 0. loss = mean cross-entropy + 0.5 * reg * sum(W ** 2).
    Returns (loss, dW, db).
    """
    # TODO: forward (softmax of the scores), loss with the L2 term, then dW and db.
    raise NotImplementedError


def train(X, y, num_classes, seed):
    """Train W, b with gradient descent on loss_and_grads (a small reg); return (W, b).

    Start from small random W drawn with np.random.default_rng(seed) and b = 0.
    """
    # TODO: initialise W and b, then repeat gradient steps with loss_and_grads.
    raise NotImplementedError
