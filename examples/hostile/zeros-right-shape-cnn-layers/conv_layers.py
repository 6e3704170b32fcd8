"""Hostile (lazy), 10-cnn-layers: the shapes are computed right, every value is zero.

Zeros from a forward pass and zeros from its backward pass agree perfectly, so a gradient check that
only compares the two would pass. Only conv_output_size (a shape, and the shape is right) may score.
"""

import numpy as np


def conv_output_size(size, filter_size, stride, pad):
    span = size + 2 * pad - filter_size
    if span < 0 or span % stride != 0:
        raise ValueError("the filter does not tile the padded input")
    return span // stride + 1


def conv_forward(x, w, b, stride, pad):
    h = conv_output_size(x.shape[2], w.shape[2], stride, pad)
    v = conv_output_size(x.shape[3], w.shape[3], stride, pad)
    return np.zeros((x.shape[0], w.shape[0], h, v))


def conv_backward(dout, x, w, b, stride, pad):
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)


def max_pool_forward(x, size, stride):
    n, c, h, w = x.shape
    return np.zeros((n, c, (h - size) // stride + 1, (w - size) // stride + 1))


def max_pool_backward(dout, x, size, stride):
    return np.zeros_like(x)


def vertical_edge_filter():
    return np.zeros((3, 3))


def detect_vertical_edges(image):
    return np.zeros((image.shape[0] - 2, image.shape[1] - 2))
