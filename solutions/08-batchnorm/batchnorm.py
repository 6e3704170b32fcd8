"""Batch normalisation: forward in training and test mode with running statistics, and the backward
pass of the training-mode forward; for a fully connected layer's outputs and for convolutional maps.
Then a small network with batch norm after its hidden affine layer: its loss and gradients, its test-mode
scores, and its training with mini-batch SGD.

For a fully connected layer x is (N, D): N examples, D features. For a convolutional layer x is
(N, C, H, W) and each channel is one feature. Every per-feature array (gamma, beta, running statistics)
is (D,) or (C,). All arrays are float64.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.9, eps=1e-5):
    """Normalise each feature, then scale by gamma and shift by beta.

    Training (train True): normalise with the batch's own mean and (biased, divide-by-N) variance per
    feature, x_hat = (x - mean) / sqrt(var + eps), and update the running statistics:
    running = momentum * running + (1 - momentum) * batch statistic.
    Test (train False): normalise with running_mean and running_var instead, and leave them unchanged.
    Returns (out, running_mean, running_var): out (N, D) = gamma * x_hat + beta, and the new running
    statistics, each (D,).
    """
    ### BEGIN SOLUTION
    if train:
        mean, var = x.mean(axis=0), x.var(axis=0)
        running_mean = momentum * running_mean + (1.0 - momentum) * mean
        running_var = momentum * running_var + (1.0 - momentum) * var
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, running_mean, running_var
    ### END SOLUTION


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of the training-mode forward pass (batch statistics) for the upstream gradient dout.

    dout, x: (N, D); gamma: (D,). The gradient with respect to x includes the paths through the batch
    mean and variance. Returns (dx, dgamma, dbeta) shaped like x, gamma and gamma.
    """
    ### BEGIN SOLUTION
    std = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / std
    dx_hat = dout * gamma
    # dx_hat minus its mean, minus its projection on x_hat: what remains after the mean and the
    # variance, which every example shares, take their part.
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    ### END SOLUTION


def spatial_batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.9, eps=1e-5):
    """Batch normalisation of convolutional maps: x (N, C, H, W), one mean and variance per channel C,
    taken over the N * H * W values of that channel. Otherwise exactly batchnorm_forward.

    Returns (out, running_mean, running_var): out (N, C, H, W), running statistics (C,).
    """
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    # Channels last, then one row per (example, pixel): each column holds one channel's values.
    rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    out, running_mean, running_var = batchnorm_forward(rows, gamma, beta, running_mean, running_var,
                                                       train, momentum, eps)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), running_mean, running_var
    ### END SOLUTION


def spatial_batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of spatial_batchnorm_forward in training mode. dout, x: (N, C, H, W); gamma: (C,).

    Returns (dx, dgamma, dbeta): dx (N, C, H, W), dgamma and dbeta (C,).
    """
    ### BEGIN SOLUTION
    n, c, h, w = x.shape
    flat_shape = (n * h * w, c)
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(flat_shape),
                                           x.transpose(0, 2, 3, 1).reshape(flat_shape), gamma, eps)
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta
    ### END SOLUTION


def softmax_loss(scores, y):
    """Given (step 05): mean cross-entropy of the softmax of scores (N, C) for integer labels y (N,).

    Returns (loss, dscores): a float and the gradient (N, C) of the loss with respect to scores.
    """
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = scores.shape[0]
    loss = -np.log(probs[np.arange(n), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


def bn_net_loss(params, bn_state, X, y, momentum=0.9):
    """One training step's forward and backward pass of the network
    affine (W1, no bias) -> batch norm (gamma, beta) -> ReLU -> affine (W2, b2) -> softmax loss,
    with batch norm in training mode (the batch's own statistics), using batchnorm_forward/backward.

    params: dict with W1 (D, H), gamma (H,), beta (H,), W2 (H, C), b2 (C,). The first affine layer
    has no bias: batch norm subtracts the mean, which would cancel it, and beta takes its place.
    bn_state: dict with running_mean (H,) and running_var (H,), the running statistics so far.
    X: (N, D) float64; y: (N,) integer labels in [0, C).
    Returns (loss, grads, new_bn_state): loss a float, grads a dict with the keys and shapes of params,
    and a new dict with the updated running_mean and running_var (bn_state itself is left unchanged).
    """
    ### BEGIN SOLUTION
    a = X @ params["W1"]
    bn, running_mean, running_var = batchnorm_forward(a, params["gamma"], params["beta"],
                                                      bn_state["running_mean"], bn_state["running_var"],
                                                      True, momentum)
    h = np.maximum(0.0, bn)
    loss, dscores = softmax_loss(h @ params["W2"] + params["b2"], y)
    dh = dscores @ params["W2"].T
    da, dgamma, dbeta = batchnorm_backward(dh * (bn > 0), a, params["gamma"])
    grads = {"W1": X.T @ da, "gamma": dgamma, "beta": dbeta,
             "W2": h.T @ dscores, "b2": dscores.sum(axis=0)}
    return loss, grads, {"running_mean": running_mean, "running_var": running_var}
    ### END SOLUTION


def bn_net_scores(params, bn_state, X):
    """Class scores (N, C) of the same network at test time: batch norm normalises with
    bn_state's running_mean and running_var, so each example's scores depend on that example alone.

    params and bn_state as in bn_net_loss (neither is changed); X: (N, D). Predicted classes are
    bn_net_scores(params, bn_state, X).argmax(axis=1).
    """
    ### BEGIN SOLUTION
    bn, _, _ = batchnorm_forward(X @ params["W1"], params["gamma"], params["beta"],
                                 bn_state["running_mean"], bn_state["running_var"], False)
    return np.maximum(0.0, bn) @ params["W2"] + params["b2"]
    ### END SOLUTION


def train_bn_net(X, y, num_classes, learning_rate=0.1, w1_scale=0.1, seed=0):
    """Train the network of bn_net_loss on X (N, D) float64 and integer labels y (N,) in
    [0, num_classes) with mini-batch SGD (plain or with momentum, your choice).

    Draw the initial weights from np.random.default_rng(seed): W1 normal with standard deviation
    w1_scale (batch norm follows it, so any scale must train), W2 small and random as in step 05,
    gamma ones, beta and b2 zeros; the running statistics start at mean 0 and variance 1.
    The hidden width, the batch size and the number of epochs are yours; carry the running statistics
    from each mini-batch to the next, and keep the whole training under two seconds.
    Returns (params, bn_state, history): the trained params and running statistics (dicts as in
    bn_net_loss) and history, a 1-D float64 array of the training loss of every mini-batch, in order.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    n, d = X.shape
    hidden, batch_size, epochs = 64, 50, 40  # free: width, batch size and epochs
    params = {"W1": rng.normal(0.0, w1_scale, (d, hidden)), "gamma": np.ones(hidden),
              "beta": np.zeros(hidden), "W2": rng.normal(0.0, 0.1, (hidden, num_classes)),  # free: W2's scale
              "b2": np.zeros(num_classes)}
    bn_state = {"running_mean": np.zeros(hidden), "running_var": np.ones(hidden)}
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    history = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss, grads, bn_state = bn_net_loss(params, bn_state, X[batch], y[batch])
            history.append(loss)
            for key in params:
                velocity[key] = 0.9 * velocity[key] - learning_rate * grads[key]  # free: momentum 0.9
                params[key] = params[key] + velocity[key]
    return params, bn_state, np.array(history)
    ### END SOLUTION
