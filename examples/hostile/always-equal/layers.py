"""Hostile: returns objects that claim to equal anything and look like arrays."""
import numpy as np


class Anything:
    shape = property(lambda self: AnythingTuple())
    dtype = np.dtype("float64")

    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False
    __bool__ = lambda self: True
    __array__ = lambda self, *a, **k: np.zeros(1)
    __getitem__ = lambda self, key: self
    __len__ = lambda self: 3
    __float__ = lambda self: 0.0
    __iter__ = lambda self: iter([self, self, self])


class AnythingTuple(tuple):
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False


def _anything(*args, **kwargs):
    return Anything()


affine_forward = affine_backward = relu_forward = relu_backward = _anything
softmax_loss = two_layer_loss = train_xor = _anything
