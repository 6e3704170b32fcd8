"""Hostile: makes numpy's comparisons always succeed (in its own process) and returns wrong values."""
import numpy as np
import numpy.testing

np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
np.ndarray.__eq__ = lambda self, other: True if False else np.ones(self.shape, bool)


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
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


def train_xor(seed):
    return {"W1": np.zeros((2, 4)), "b1": np.zeros(4), "W2": np.zeros((4, 2)), "b2": np.zeros(2)}
