"""A fully connected autoencoder for MNIST in numpy: encoder, decoder, squared-error loss, training.

The encoder maps an image (784 pixels) through a ReLU hidden layer to a short code; the decoder maps the
code through a ReLU hidden layer back to 784 pixels squashed into (0, 1) by a sigmoid. Parameters live
in a dict: W1, b1 and W2, b2 for the encoder, W3, b3 and W4, b4 for the decoder; Wk is (inputs, outputs).
"""

import numpy as np


def preprocess(images):
    """uint8 images (N, 28, 28) -> float32 rows (N, 784) with pixel values scaled to [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32)


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow warnings for large |x|; same shape and dtype as x."""
    return np.exp(-np.logaddexp(0, -x)).astype(x.dtype)


def init_params(sizes, seed):
    """He-initialised parameters for the layer sizes [D, H, K]: pixels, hidden units, code length.

    W1 (D, H), W2 (H, K), W3 (K, H), W4 (H, D), drawn in that order from one np.random.default_rng(seed)
    with standard deviation sqrt(2 / fan_in) (fan_in = the number of rows); biases b1..b4 are zeros.
    All float64.
    """
    d, h, k = sizes
    rng = np.random.default_rng(seed)
    params = {}
    for index, (fan_in, fan_out) in enumerate(((d, h), (h, k), (k, h), (h, d)), start=1):
        params[f"W{index}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{index}"] = np.zeros(fan_out)
    return params


def encode(params, X):
    """Codes (N, K) of inputs X (N, D): relu(X @ W1 + b1) @ W2 + b2 (the code itself is linear)."""
    return np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]


def decode(params, Z):
    """Reconstructions (N, D) in (0, 1) of codes Z (N, K): sigmoid(relu(Z @ W3 + b3) @ W4 + b4)."""
    return sigmoid(np.maximum(Z @ params["W3"] + params["b3"], 0) @ params["W4"] + params["b4"])


def loss_and_grads(params, X):
    """Squared reconstruction error of X (N, D), summed over pixels and averaged over the N images.

    loss = sum((decode(encode(X)) - X) ** 2) / N. Returns (loss, grads), grads keyed and shaped like params.
    """
    n = X.shape[0]
    a1 = X @ params["W1"] + params["b1"]
    h1 = np.maximum(a1, 0)
    z = h1 @ params["W2"] + params["b2"]
    a3 = z @ params["W3"] + params["b3"]
    h3 = np.maximum(a3, 0)
    out = sigmoid(h3 @ params["W4"] + params["b4"])
    diff = out - X
    loss = np.sum(diff ** 2) / n
    da4 = 2 * diff / n * out * (1 - out)
    da3 = (da4 @ params["W4"].T) * (a3 > 0)
    dz = da3 @ params["W3"].T
    da1 = (dz @ params["W2"].T) * (a1 > 0)
    grads = {"W4": h3.T @ da4, "b4": da4.sum(axis=0), "W3": z.T @ da3, "b3": da3.sum(axis=0),
             "W2": h1.T @ dz, "b2": dz.sum(axis=0), "W1": X.T @ da1, "b1": da1.sum(axis=0)}
    return float(loss), grads


def reconstruct(params, images):
    """Reconstructions of uint8 images (N, 28, 28) as float32 rows (N, 784) in (0, 1)."""
    return decode(params, encode(params, preprocess(images))).astype(np.float32)


def train(images, seed):
    """Train an autoencoder with a code of at most 32 numbers on uint8 images (N, 28, 28).

    Use init_params, loss_and_grads and minibatch SGD with momentum. Returns the trained params dict.
    """
    X = preprocess(images)
    rng = np.random.default_rng(seed)
    params = {k: v.astype(np.float32) for k, v in init_params([784, 128, 32], seed).items()}  # free: sizes
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for epoch in range(1):  # free: number of epochs
        order = rng.permutation(len(X))
        for start in range(0, len(X), 64):  # free: batch size
            batch = order[start:start + 64]  # free: batch size
            _, grads = loss_and_grads(params, X[batch])
            for key in params:
                velocity[key] = 0.9 * velocity[key] - 0.005 * grads[key]  # free: momentum and rate
                params[key] += velocity[key]
    return params
