"""Hostile: the layers are right, but train_xor answers with a forged 48 MB frame of JSON.

It finds the runner's channel and writes a frame of 16 million empty lists: under the frame limit,
and gigabytes once parsed (the judge used to reach 4.3 GB and be killed). The plain values of a frame
have a cap of their own (4 MB): the judge refuses the frame from its header, before reading or
parsing it, and only the training tests lose.
"""

import gc
import os
import struct

import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer: out = x @ w + b.

    x: (N, D) inputs, w: (D, M) weights, b: (M,) biases.
    Returns out: (N, M).
    """
    return x @ w + b


def affine_backward(dout, x, w, b):
    """Gradients of the affine layer, given the upstream gradient dout: (N, M).

    Returns (dx, dw, db) with the shapes of x (N, D), w (D, M) and b (M,).
    """
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise: max(0, x). Returns an array shaped like x."""
    return np.maximum(0.0, x)


def relu_backward(dout, x):
    """Gradient of ReLU: dout where x > 0, else 0 (also at exactly 0). Returns an array shaped like x."""
    return dout * (x > 0)


def softmax_loss(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels, and its gradient.

    scores: (N, C) unnormalised class scores, y: (N,) integer labels in [0, C).
    Returns (loss, dscores): loss a float, dscores (N, C). Must stay finite for scores in the thousands.
    """
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return float(loss), dscores / n


def two_layer_loss(params, X, y):
    """Loss and gradients of the net affine -> ReLU -> affine -> softmax loss.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,). X: (N, D), y: (N,) integer labels.
    Returns (loss, grads) where grads has the same keys and shapes as params.
    """
    h_in = affine_forward(X, params["W1"], params["b1"])
    h = relu_forward(h_in)
    scores = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_loss(scores, y)
    dh, dW2, db2 = affine_backward(dscores, h, params["W2"], params["b2"])
    dX, dW1, db1 = affine_backward(relu_backward(dh, h_in), X, params["W1"], params["b1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def train_xor(seed):
    channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
    body = b"[" + b"[]," * 16_000_000 + b"[]]"
    frame = struct.pack(">II", len(body), 0) + body
    view = memoryview(frame)
    while view:
        view = view[os.write(channel.write_fd, view[:1 << 20]):]
    return None
