"""Layers of a small neural network, written by hand with numpy: affine, ReLU, softmax loss.

Every function takes and returns float64 arrays. Shapes use N for the batch size, D for the input
features, M (or H) for the outputs of a layer and C for the number of classes.
"""

import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer: out = x @ w + b.

    x: (N, D) inputs, w: (D, M) weights, b: (M,) biases.
    Returns out: (N, M).
    """
    # TODO: compute the affine output (one line of numpy).
    raise NotImplementedError


def affine_backward(dout, x, w, b):
    """Gradients of the affine layer, given the upstream gradient dout: (N, M).

    Returns (dx, dw, db) with the shapes of x (N, D), w (D, M) and b (M,).
    """
    # TODO: compute dx, dw and db; db has one entry per output unit.
    raise NotImplementedError


def relu_forward(x):
    """Rectified linear unit, elementwise: max(0, x). Returns an array shaped like x."""
    # TODO: apply max(0, x) elementwise.
    raise NotImplementedError


def relu_backward(dout, x):
    """Gradient of ReLU: dout where x > 0, else 0 (also at exactly 0). Returns an array shaped like x."""
    # TODO: pass dout through where x > 0, zero elsewhere.
    raise NotImplementedError


def softmax_loss(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels, and its gradient.

    scores: (N, C) unnormalised class scores, y: (N,) integer labels in [0, C).
    Returns (loss, dscores): loss a float, dscores (N, C). Must stay finite for scores in the thousands.
    """
    # TODO: compute the mean cross-entropy and its gradient; subtract each row's max before exp.
    raise NotImplementedError


def two_layer_loss(params, X, y):
    """Loss and gradients of the net affine -> ReLU -> affine -> softmax loss.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,). X: (N, D), y: (N,) integer labels.
    Returns (loss, grads) where grads has the same keys and shapes as params.
    """
    # TODO: chain affine -> ReLU -> affine -> softmax_loss forward, then the backward functions in reverse.
    raise NotImplementedError


def train_xor(seed):
    """Train a two-layer net (2 inputs, a hidden layer of your choice, 2 classes) on XOR.

    The four examples are (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0. Use np.random.default_rng(seed) for
    the initial weights and plain gradient descent with two_layer_loss.
    Returns the trained params dict (W1, b1, W2, b2), which must classify all four points correctly.
    """
    # TODO: initialise params with np.random.default_rng(seed), then run gradient descent with two_layer_loss.
    raise NotImplementedError
