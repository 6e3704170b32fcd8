"""Convolution and max-pooling layers, forward and backward, written with numpy loops you can follow.

Inputs use the (N, C, H, W) layout: N images, C channels, H rows, W columns. Filters are (F, C, HH, WW).
All arrays are float64. Like most deep-learning libraries, "convolution" here is cross-correlation:
the filter is not flipped.
"""

import numpy as np


def conv_output_size(size, filter_size, stride, pad):
    """Output length along one axis: (size + 2 * pad - filter_size) // stride + 1.

    Raises ValueError when the filter does not tile the padded input exactly.
    """
    # TODO: compute the output length, raising ValueError when the filter does not tile the padded input.
    raise NotImplementedError


def conv_forward(x, w, b, stride, pad):
    """Convolve every image with every filter.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,), stride and pad: ints (zero padding on all sides).
    Returns out: (N, F, H_out, W_out) with H_out = conv_output_size(H, HH, stride, pad), same for W.
    """
    # TODO: pad x, then slide every filter over every position (a double loop over output rows and columns is fine).
    raise NotImplementedError


def conv_backward(dout, x, w, b, stride, pad):
    """Gradients of conv_forward, given dout: (N, F, H_out, W_out) and the forward inputs.

    Returns (dx, dw, db) shaped like x, w and b.
    """
    # TODO: accumulate dw and the padded dx window by window, then strip the padding from dx; db sums dout.
    raise NotImplementedError


def max_pool_forward(x, size, stride):
    """Max over size x size windows moved by stride. x: (N, C, H, W).

    Returns out: (N, C, H_out, W_out) with H_out = (H - size) // stride + 1, same for W.
    """
    # TODO: take the maximum of every window.
    raise NotImplementedError


def max_pool_backward(dout, x, size, stride):
    """Gradient of max_pool_forward: each window's gradient goes to its maximum only.

    dout: (N, C, H_out, W_out), x the forward input. When a window holds its maximum more than once,
    the gradient goes to the first one in row-major order. Returns dx shaped like x.
    """
    # TODO: send each window's upstream gradient to the first position of its maximum.
    raise NotImplementedError


def vertical_edge_filter():
    """The 3x3 vertical-edge detector from the course notes: columns 1, 0, -1 in every row.

    Returns a float64 array of shape (3, 3): [[1, 0, -1], [1, 0, -1], [1, 0, -1]].
    """
    # TODO: return the 3x3 filter described in the docstring.
    raise NotImplementedError


def detect_vertical_edges(image):
    """Apply vertical_edge_filter to one greyscale image (H, W) with stride 1 and no padding.

    Returns the response map (H - 2, W - 2): large where brightness changes from left to right.
    """
    # TODO: apply the filter with conv_forward (add and remove the N and C axes).
    raise NotImplementedError
