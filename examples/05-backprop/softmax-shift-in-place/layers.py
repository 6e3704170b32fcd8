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
    ### BEGIN SOLUTION
    return x @ w + b
    ### END SOLUTION


def affine_backward(dout, x, w, b):
    """Gradients of the affine layer, given the upstream gradient dout: (N, M).

    Returns (dx, dw, db) with the shapes of x (N, D), w (D, M) and b (M,).
    """
    ### BEGIN SOLUTION
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


def relu_forward(x):
    """Rectified linear unit, elementwise: max(0, x). Returns an array shaped like x."""
    ### BEGIN SOLUTION
    return np.maximum(0.0, x)
    ### END SOLUTION


def relu_backward(dout, x):
    """Gradient of ReLU: dout where x > 0, else 0 (also at exactly 0). Returns an array shaped like x."""
    ### BEGIN SOLUTION
    return dout * (x > 0)
    ### END SOLUTION


def softmax_loss(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels, and its gradient.

    scores: (N, C) unnormalised class scores, y: (N,) integer labels in [0, C).
    Returns (loss, dscores): loss a float, dscores (N, C). Must stay finite for scores in the thousands.
    """
    ### BEGIN SOLUTION
    n = scores.shape[0]
    scores -= scores.max(axis=1, keepdims=True); shifted = scores  # shifts the caller's array
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return float(loss), dscores / n
    ### END SOLUTION


def two_layer_loss(params, X, y):
    """Loss and gradients of the net affine -> ReLU -> affine -> softmax loss.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,). X: (N, D), y: (N,) integer labels.
    Returns (loss, grads) where grads has the same keys and shapes as params.
    """
    ### BEGIN SOLUTION
    h_in = affine_forward(X, params["W1"], params["b1"])
    h = relu_forward(h_in)
    scores = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_loss(scores, y)
    dh, dW2, db2 = affine_backward(dscores, h, params["W2"], params["b2"])
    dX, dW1, db1 = affine_backward(relu_backward(dh, h_in), X, params["W1"], params["b1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


def train_xor(seed):
    """Train a two-layer net (2 inputs, a hidden layer of your choice, 2 classes) on XOR.

    The four examples are (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0. Use np.random.default_rng(seed) for
    the initial weights and plain gradient descent with two_layer_loss.
    Returns the trained params dict (W1, b1, W2, b2), which must classify all four points correctly.
    """
    ### BEGIN SOLUTION
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    rng = np.random.default_rng(seed)
    hidden = 16  # free: any width that learns XOR
    params = {"W1": rng.normal(0, 1.0, (2, hidden)), "b1": np.zeros(hidden),  # free: initialisation
              "W2": rng.normal(0, 0.5, (hidden, 2)), "b2": np.zeros(2)}  # free: initialisation
    for _ in range(1000):  # free: number of steps
        _, grads = two_layer_loss(params, X, y)
        for key in params:
            params[key] -= 0.5 * grads[key]  # free: the learning rate (the sign is not free)
    return params
    ### END SOLUTION
