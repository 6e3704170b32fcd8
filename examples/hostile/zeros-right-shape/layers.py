"""Hostile (lazy): every function returns zeros of exactly the right shape and dtype.

Zeros from a forward pass and zeros from its backward pass agree perfectly, so a gradient check that
only compares the two would pass. Every test must compare with the right values instead.
"""

import numpy as np


def affine_forward(x, w, b):
    return np.zeros((x.shape[0], w.shape[1]))


def affine_backward(dout, x, w, b):
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)


def relu_forward(x):
    return np.zeros_like(x)


def relu_backward(dout, x):
    return np.zeros_like(x)


def softmax_loss(scores, y):
    return 0.0, np.zeros_like(scores)


def two_layer_loss(params, X, y):
    return 0.0, {key: np.zeros_like(value) for key, value in params.items()}


def train_xor(seed):
    return {"W1": np.zeros((2, 8)), "b1": np.zeros(8), "W2": np.zeros((8, 2)), "b2": np.zeros(2)}
