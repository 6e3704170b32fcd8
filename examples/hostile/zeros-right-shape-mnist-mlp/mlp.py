"""Hostile (lazy), 09-mnist-mlp: every function returns zeros of the right shape and dtype.

Zeros from the loss and zeros from its gradient agree perfectly, so a gradient check that only
compares the two would pass. Every test must compare with the right values instead.
"""

import numpy as np


def preprocess(images):
    return np.zeros((len(images), 784), dtype=np.float32)


def init_params(layer_sizes, seed):
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{k}"] = np.zeros((fan_in, fan_out))
        params[f"b{k}"] = np.zeros(fan_out)
    return params


def forward(params, X):
    layers = len(params) // 2
    return np.zeros((len(X), params[f"W{layers}"].shape[1]))


def loss_and_grads(params, X, y):
    return 0.0, {key: np.zeros_like(value) for key, value in params.items()}


def predict(params, images):
    return np.zeros(len(images), dtype=np.int64)


def train(images, labels, seed):
    return init_params([784, 32, 10], seed)
