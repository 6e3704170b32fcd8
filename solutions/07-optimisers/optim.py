"""Optimisers and regularisation: SGD, momentum, AdaGrad and Adam updates, a learning-rate schedule, L2
weight decay, inverted dropout, and a ridge regression trained with momentum and L2.

Every array is float64. Update functions return new arrays: the caller keeps the result.
"""

import numpy as np


def sgd_step(w, dw, lr):
    """One step of plain gradient descent. w, dw: arrays of the same shape; lr: float. Returns the new w."""
    ### BEGIN SOLUTION
    return w - lr * dw
    ### END SOLUTION


def momentum_step(w, dw, v, lr, mu=0.9):
    """One step of SGD with momentum: first v = mu * v - lr * dw, then w = w + v (the new v).

    w, dw, v: arrays of the same shape (v starts at zeros); lr, mu: floats.
    Returns (w, v): the updated weights and velocity.
    """
    ### BEGIN SOLUTION
    v = mu * v - lr * dw
    return w + v, v
    ### END SOLUTION


def adagrad_step(w, dw, cache, lr, eps=1e-8):
    """One step of AdaGrad: first cache = cache + dw ** 2, then w = w - lr * dw / (sqrt(cache) + eps).

    w, dw, cache: float64 arrays of the same shape (cache starts at zeros and holds the sum of every
    squared gradient so far, per element); lr, eps: floats. Returns (w, cache): the new cache and the
    weights stepped with it.
    """
    ### BEGIN SOLUTION
    cache = cache + dw ** 2
    return w - lr * dw / (np.sqrt(cache) + eps), cache
    ### END SOLUTION


def adam_step(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (Kingma & Ba): moving averages of the gradient and of its square, bias-corrected.

    m = beta1 * m + (1 - beta1) * dw; v = beta2 * v + (1 - beta2) * dw ** 2;
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t); w = w - lr * m_hat / (sqrt(v_hat) + eps).
    w, dw, m, v: float64 arrays of the same shape (m and v start at zeros); t: int, the number of this
    step, 1 on the first; lr, beta1, beta2, eps: floats.
    Returns (w, m, v): the updated weights and the new moments m and v (not the corrected m_hat, v_hat).
    """
    ### BEGIN SOLUTION
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ### END SOLUTION


def step_decay(lr0, epoch, drop=0.5, every=10):
    """Step learning-rate schedule: lr0 multiplied by `drop` once every `every` epochs.

    lr0, drop: floats; epoch, every: ints (epoch counts from 0). Returns lr0 * drop ** (epoch // every).
    """
    ### BEGIN SOLUTION
    return lr0 * drop ** (epoch // every)
    ### END SOLUTION


def l2_penalty(params, reg):
    """L2 regularisation of a network's weight matrices: loss 0.5 * reg * (sum of every W's squares).

    params: dict of arrays; only keys starting with "W" are weights, the others (biases) are not
    regularised. reg: float. Returns (loss, grads): loss a float, grads a dict with the keys and shapes of
    params (reg * W for a weight, zeros for a bias).
    """
    ### BEGIN SOLUTION
    weights = [key for key in params if key.startswith("W")]
    loss = 0.5 * reg * sum(float(np.sum(params[key] ** 2)) for key in weights)
    grads = {key: reg * value if key in weights else np.zeros_like(value) for key, value in params.items()}
    return loss, grads
    ### END SOLUTION


def dropout_forward(x, p, train, seed):
    """Inverted dropout. p: probability of dropping a unit (0 <= p < 1); train: bool; seed: int.

    In training, each element of x is dropped (set to 0) independently with probability p, drawn with
    np.random.default_rng(seed), and the kept ones are scaled by 1 / (1 - p), so that the expected output
    equals x. Returns (out, mask): out shaped like x, and mask shaped like x holding 0 for a dropped
    element and 1 / (1 - p) for a kept one, so that out = x * mask.
    At test time (train False) the layer does nothing: returns (x, None).
    """
    ### BEGIN SOLUTION
    if not train:
        return x, None
    keep = np.random.default_rng(seed).random(x.shape) >= p
    mask = keep / (1.0 - p)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, mask, train):
    """Gradient of dropout: dout * mask in training; dout unchanged at test time (mask is then None)."""
    ### BEGIN SOLUTION
    if not train:
        return dout
    return dout * mask
    ### END SOLUTION


def fit_ridge(X, y, lr, mu, reg, steps):
    """Ridge regression trained by full-batch gradient descent with momentum.

    Loss: 0.5 * mean((X @ w - y) ** 2) + 0.5 * reg * sum(w ** 2); its gradient is
    X.T @ (X @ w - y) / N + reg * w. X: (N, D), y: (N,). Start from w = 0 and v = 0 and take exactly
    `steps` momentum_step updates with learning rate lr and momentum mu. Returns w: (D,).
    """
    ### BEGIN SOLUTION
    w = np.zeros(X.shape[1])
    v = np.zeros_like(w)
    for _ in range(steps):
        _, dreg = l2_penalty({"W": w}, reg)
        dw = X.T @ (X @ w - y) / X.shape[0] + dreg["W"]
        w, v = momentum_step(w, dw, v, lr, mu)
    return w
    ### END SOLUTION
