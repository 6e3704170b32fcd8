"""Hostile: returns wrong values inside an ndarray subclass whose comparisons always succeed."""
import numpy as np


class Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(1) if ufunc is not np.isclose else np.ones(1, dtype=bool)


def _wrong(shape):
    return np.full(shape, 7.0).view(Agreeable)


def affine_forward(x, w, b):
    return _wrong((x.shape[0], w.shape[1]))


def affine_backward(dout, x, w, b):
    return _wrong(x.shape), _wrong(w.shape), _wrong(b.shape)


def relu_forward(x):
    return _wrong(x.shape)


def relu_backward(dout, x):
    return _wrong(x.shape)


def softmax_loss(scores, y):
    return np.float64(1.0).view(Agreeable) if False else _wrong(()), _wrong(scores.shape)


def two_layer_loss(params, X, y):
    return _wrong(()), {k: _wrong(v.shape) for k, v in params.items()}


def train_xor(seed):
    return {"W1": _wrong((2, 4)), "b1": _wrong(4), "W2": _wrong((4, 2)), "b2": _wrong(2)}
