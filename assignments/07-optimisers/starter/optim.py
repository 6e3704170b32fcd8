"""Optimisers and regularisation: SGD, momentum, AdaGrad and Adam updates, a learning-rate schedule, L2
weight decay, inverted dropout, ridge regression, and a small network trained with all of them.

Every array is float64. Update functions return new arrays: the caller keeps the result.
"""

import numpy as np


def sgd_step(w, dw, lr):
    """One step of plain gradient descent. w, dw: arrays of the same shape; lr: float. Returns the new w."""
    # TODO: return the weights after one step against the gradient.
    raise NotImplementedError


def momentum_step(w, dw, v, lr, mu=0.9):
    """One step of SGD with momentum: first v = mu * v - lr * dw, then w = w + v (the new v).

    w, dw, v: arrays of the same shape (v starts at zeros); lr, mu: floats.
    Returns (w, v): the updated weights and velocity.
    """
    # TODO: update the velocity v first, then move w by the new v; return both.
    raise NotImplementedError


def adagrad_step(w, dw, cache, lr, eps=1e-8):
    """One step of AdaGrad: first cache = cache + dw ** 2, then w = w - lr * dw / (sqrt(cache) + eps).

    w, dw, cache: float64 arrays of the same shape (cache starts at zeros and holds the sum of every
    squared gradient so far, per element); lr, eps: floats. Returns (w, cache): the new cache and the
    weights stepped with it.
    """
    # TODO: add dw ** 2 to the cache first, then step w by lr * dw / (sqrt(new cache) + eps); return both.
    raise NotImplementedError


def adam_step(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (Kingma & Ba): moving averages of the gradient and of its square, bias-corrected.

    m = beta1 * m + (1 - beta1) * dw; v = beta2 * v + (1 - beta2) * dw ** 2;
    m_hat = m / (1 - beta1 ** t); v_hat = v / (1 - beta2 ** t); w = w - lr * m_hat / (sqrt(v_hat) + eps).
    w, dw, m, v: float64 arrays of the same shape (m and v start at zeros); t: int, the number of this
    step, 1 on the first; lr, beta1, beta2, eps: floats.
    Returns (w, m, v): the updated weights and the new moments m and v (not the corrected m_hat, v_hat).
    """
    # TODO: update m and v, divide them by (1 - beta ** t) (bias correction), step w; return (w, m, v).
    raise NotImplementedError


def step_decay(lr0, epoch, drop=0.5, every=10):
    """Step learning-rate schedule: lr0 multiplied by `drop` once every `every` epochs.

    lr0, drop: floats; epoch, every: ints (epoch counts from 0). Returns lr0 * drop ** (epoch // every).
    """
    # TODO: multiply lr0 by drop once for every full `every` epochs.
    raise NotImplementedError


def l2_penalty(params, reg):
    """L2 regularisation of a network's weight matrices: loss 0.5 * reg * (sum of every W's squares).

    params: dict of arrays; only keys starting with "W" are weights, the others (biases) are not
    regularised. reg: float. Returns (loss, grads): loss a float, grads a dict with the keys and shapes of
    params (reg * W for a weight, zeros for a bias).
    """
    # TODO: sum 0.5 * reg * W ** 2 over the weight matrices only; give weights reg * W and biases zeros.
    raise NotImplementedError


def dropout_forward(x, p, train, seed):
    """Inverted dropout. p: probability of dropping a unit (0 <= p < 1); train: bool; seed: int.

    In training, each element of x is dropped (set to 0) independently with probability p, drawn with
    np.random.default_rng(seed), and the kept ones are scaled by 1 / (1 - p), so that the expected output
    equals x. Returns (out, mask): out shaped like x, and mask shaped like x holding 0 for a dropped
    element and 1 / (1 - p) for a kept one, so that out = x * mask.
    At test time (train False) the layer does nothing: returns (x, None).
    """
    # TODO: at test time return (x, None); in training draw a keep mask with np.random.default_rng(seed), scale it by 1 / (1 - p) and apply it.
    raise NotImplementedError


def dropout_backward(dout, mask, train):
    """Gradient of dropout: dout * mask in training; dout unchanged at test time (mask is then None)."""
    # TODO: route dout through the mask in training; pass it through unchanged at test time.
    raise NotImplementedError


def fit_ridge(X, y, lr, mu, reg, steps):
    """Ridge regression trained by full-batch gradient descent with momentum.

    Loss: 0.5 * mean((X @ w - y) ** 2) + 0.5 * reg * sum(w ** 2); its gradient is
    X.T @ (X @ w - y) / N + reg * w. X: (N, D), y: (N,). Start from w = 0 and v = 0 and take exactly
    `steps` momentum_step updates with learning rate lr and momentum mu. Returns w: (D,).
    """
    # TODO: start from zeros and take `steps` momentum steps on the ridge loss gradient (use l2_penalty and momentum_step).
    raise NotImplementedError


def net_loss(params, X, y, l2, dropout_p, train, seed):
    """Loss and gradients of a one-hidden-layer ReLU network for regression, with L2 and dropout.

    params: dict W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,); X: (N, D), y: (N,); l2: float (the reg of
    l2_penalty); dropout_p: float, 0 <= p < 1; train: bool; seed: int.
    Forward: h = relu(X @ W1 + b1); h, mask = dropout_forward(h, dropout_p, train, seed);
    pred = (h @ W2 + b2)[:, 0]; loss = 0.5 * mean((pred - y) ** 2) + the l2_penalty of params.
    Returns (loss, grads): loss a float, grads a dict with the keys and shapes of params (the gradient of
    that whole loss, the L2 part included; the gradient goes back through dropout_backward).
    """
    # TODO: forward through relu, dropout_forward and the output layer; add l2_penalty's loss; backpropagate (through dropout_backward) and add each gradient to the penalty's.
    raise NotImplementedError


def train(X, y, X_val, y_val, *, hidden, epochs, lr0, drop, every, l2, dropout_p, seed):
    """Train net_loss's network with momentum, a step-decay schedule, L2 and dropout; record both losses.

    X: (N, D), y: (N,) the training set; X_val: (M, D), y_val: (M,) the held-out set, only evaluated.
    Start: rng = np.random.default_rng(seed); W1 = rng.normal(0, sqrt(2 / D), (D, hidden)), then
    W2 = rng.normal(0, sqrt(1 / hidden), (hidden, 1)); b1 and b2 zeros; every velocity zeros.
    Each epoch e = 0, 1, ..., epochs - 1 is one full-batch step:
      lr = step_decay(lr0, e, drop, every);
      loss, grads = net_loss(params, X, y, l2, dropout_p, True, seed + 1 + e);
      each parameter: params[k], velocity[k] = momentum_step(params[k], grads[k], velocity[k], lr)
      (the default mu = 0.9);
      the held-out loss, with the updated params: the loss of
      net_loss(params, X_val, y_val, 0.0, dropout_p, False, seed) (no penalty, no dropout).
    Returns (params, history): params the trained dict (shapes as in net_loss); history a dict of three
    lists of `epochs` floats: "train_loss" (each epoch's loss, before its step), "val_loss" and "lr".
    """
    # TODO: initialise params from default_rng(seed) as stated; each epoch: step_decay's lr, net_loss with dropout on, momentum_step on every parameter, the held-out loss; record the three values.
    raise NotImplementedError
