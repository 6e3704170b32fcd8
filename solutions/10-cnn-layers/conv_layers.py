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
    ### BEGIN SOLUTION
    span = size + 2 * pad - filter_size
    if span < 0 or span % stride != 0:
        raise ValueError(f"filter {filter_size} with stride {stride} does not tile {size} + 2*{pad}")
    return span // stride + 1
    ### END SOLUTION


def conv_forward(x, w, b, stride, pad):
    """Convolve every image with every filter.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,), stride and pad: ints (zero padding on all sides).
    Returns out: (N, F, H_out, W_out) with H_out = conv_output_size(H, HH, stride, pad), same for W.
    """
    ### BEGIN SOLUTION
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    h_out, w_out = conv_output_size(h, hh, stride, pad), conv_output_size(wd, ww, stride, pad)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, f, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None]
    ### END SOLUTION


def conv_backward(dout, x, w, b, stride, pad):
    """Gradients of conv_forward, given dout: (N, F, H_out, W_out) and the forward inputs.

    Returns (dx, dw, db) shaped like x, w and b.
    """
    ### BEGIN SOLUTION
    hh, ww = w.shape[2:]
    h_out, w_out = dout.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dpadded = np.zeros_like(padded)
    dw = np.zeros_like(w)
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * stride, i * stride + hh), slice(j * stride, j * stride + ww)
            window = padded[:, :, rows, cols]
            dw += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
            dpadded[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    dx = dpadded[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
    ### END SOLUTION


def max_pool_forward(x, size, stride):
    """Max over size x size windows moved by stride. x: (N, C, H, W).

    Returns out: (N, C, H_out, W_out) with H_out = (H - size) // stride + 1, same for W.
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    h_out, w_out = (h - size) // stride + 1, (wd - size) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out
    ### END SOLUTION


def max_pool_backward(dout, x, size, stride):
    """Gradient of max_pool_forward: each window's gradient goes to its maximum only.

    dout: (N, C, H_out, W_out), x the forward input. When a window holds its maximum more than once,
    the gradient goes to the first one in row-major order. Returns dx shaped like x.
    """
    ### BEGIN SOLUTION
    n, c = x.shape[:2]
    h_out, w_out = dout.shape[2:]
    dx = np.zeros_like(x)
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
            window = x[:, :, rows, cols].reshape(n, c, -1)
            first = window.argmax(axis=2)
            mask = np.zeros_like(window)
            np.put_along_axis(mask, first[:, :, None], 1.0, axis=2)
            dx[:, :, rows, cols] += (mask * dout[:, :, i, j][:, :, None]).reshape(n, c, size, size)
    return dx
    ### END SOLUTION


def vertical_edge_filter():
    """The 3x3 vertical-edge detector from the course notes: columns 1, 0, -1 in every row.

    Returns a float64 array of shape (3, 3): [[1, 0, -1], [1, 0, -1], [1, 0, -1]].
    """
    ### BEGIN SOLUTION
    return np.array([[1.0, 0.0, -1.0]] * 3)
    ### END SOLUTION


def detect_vertical_edges(image):
    """Apply vertical_edge_filter to one greyscale image (H, W) with stride 1 and no padding.

    Returns the response map (H - 2, W - 2): large where brightness changes from left to right.
    """
    ### BEGIN SOLUTION
    kernel = vertical_edge_filter()[None, None]
    return conv_forward(image[None, None].astype(float), kernel, np.zeros(1), 1, 0)[0, 0]
    ### END SOLUTION
