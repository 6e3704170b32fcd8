"""A multi-layer perceptron for MNIST, by hand in numpy: preprocessing, loss and gradients, training.

Layers are affine -> ReLU -> ... -> affine -> softmax. Parameters live in a dict: W1, b1 for the first
layer, W2, b2 for the second, and so on; Wk has shape (inputs, outputs) and bk shape (outputs,).
"""

import numpy as np


def preprocess(images):
    """uint8 images (N, 28, 28) -> float32 rows (N, 784) with pixel values scaled to [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32)


def init_params(layer_sizes, seed):
    """He-initialised parameters for the given layer sizes, e.g. [784, 128, 10].

    Wk ~ Normal(0, sqrt(2 / fan_in)), drawn with np.random.default_rng(seed); bk = 0. float64.
    Returns a dict with W1, b1, ..., WL, bL (L = len(layer_sizes) - 1).
    """
    rng = np.random.default_rng(seed)
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{k}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{k}"] = np.zeros(fan_out)
    return params


def forward(params, X):
    """Class scores (N, C) of the MLP for inputs X (N, D): ReLU after every layer but the last."""
    layers = len(params) // 2
    h = X
    for k in range(1, layers + 1):
        h = h @ params[f"W{k}"] + params[f"b{k}"]
        if k < layers:
            h = np.maximum(h, 0)
    return h


def loss_and_grads(params, X, y):
    """Mean softmax cross-entropy of the MLP on (X, y) and its gradients.

    X: (N, D), y: (N,) integer labels. Returns (loss, grads), grads with the keys and shapes of params.
    """
    layers = len(params) // 2
    inputs, h = [], X
    for k in range(1, layers + 1):
        inputs.append(h)
        h = h @ params[f"W{k}"] + params[f"b{k}"]
        if k < layers:
            h = np.maximum(h, 0)
    n = X.shape[0]
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dh = np.exp(log_probs)
    dh[np.arange(n), y] -= 1
    dh /= n
    grads = {}
    for k in range(layers, 0, -1):
        grads[f"W{k}"] = inputs[k - 1].T @ dh
        grads[f"b{k}"] = dh.sum(axis=0)
        if k > 1:
            dh = (dh @ params[f"W{k}"].T) * (inputs[k - 1] > 0)
    return float(loss), grads


def predict(params, images):
    """Predicted digit for every uint8 image (N, 28, 28): an int64 array (N,)."""
    return forward(params, preprocess(images)).argmax(axis=1).astype(np.int64)


def train(images, labels, seed):
    """Train an MLP on uint8 images (N, 28, 28) and integer labels (N,); return its params dict.

    Use init_params, loss_and_grads and minibatch SGD (with momentum if you like). It must reach 95%
    accuracy on digits it has never seen within the time limit (30 seconds on one CPU core).
    """
    X = preprocess(images)
    rng = np.random.default_rng(seed)
    params = {k: v.astype(np.float32) for k, v in init_params([784, 128, 10], seed).items()}  # free: size
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for epoch in range(3):  # free: number of epochs
        order = rng.permutation(len(X))
        for start in range(0, len(X), 128):  # free: batch size
            batch = order[start:start + 128]  # free: batch size
            _, grads = loss_and_grads(params, X[batch], labels[batch])
            for key in params:
                velocity[key] = 0.9 * velocity[key] - 0.1 * grads[key]  # free: momentum and rate
                params[key] += velocity[key]
    return params
