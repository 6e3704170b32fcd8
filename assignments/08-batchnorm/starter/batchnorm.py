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
    # TODO: pick the batch statistics (training, and update the running ones) or the running statistics (test), then normalise, scale and shift.
    raise NotImplementedError


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of the training-mode forward pass (batch statistics) for the upstream gradient dout.

    dout, x: (N, D); gamma: (D,). The gradient with respect to x includes the paths through the batch
    mean and variance. Returns (dx, dgamma, dbeta) shaped like x, gamma and gamma.
    """
    # TODO: recompute x_hat, then return dx (through the batch mean and variance too), dgamma and dbeta.
    raise NotImplementedError


def spatial_batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.9, eps=1e-5):
    """Batch normalisation of convolutional maps: x (N, C, H, W), one mean and variance per channel C,
    taken over the N * H * W values of that channel. Otherwise exactly batchnorm_forward.

    Returns (out, running_mean, running_var): out (N, C, H, W), running statistics (C,).
    """
    # TODO: move the channel axis last, flatten to (N*H*W, C), call batchnorm_forward, and undo the reshape.
    raise NotImplementedError


def spatial_batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of spatial_batchnorm_forward in training mode. dout, x: (N, C, H, W); gamma: (C,).

    Returns (dx, dgamma, dbeta): dx (N, C, H, W), dgamma and dbeta (C,).
    """
    # TODO: flatten dout and x the same way as the forward pass, call batchnorm_backward, and undo the reshape for dx.
    raise NotImplementedError


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
    # TODO: forward (X @ W1, batchnorm_forward in training mode, ReLU, affine, softmax_loss), then backward through each of them in turn (batchnorm_backward included); return the loss, the grads dict and a new running-state dict.
    raise NotImplementedError


def bn_net_scores(params, bn_state, X):
    """Class scores (N, C) of the same network at test time: batch norm normalises with
    bn_state's running_mean and running_var, so each example's scores depend on that example alone.

    params and bn_state as in bn_net_loss (neither is changed); X: (N, D). Predicted classes are
    bn_net_scores(params, bn_state, X).argmax(axis=1).
    """
    # TODO: the same forward pass with batchnorm_forward in test mode (the running statistics), without the loss.
    raise NotImplementedError


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
    # TODO: initialise params and bn_state, then mini-batch SGD with bn_net_loss, carrying bn_state from batch to batch and recording each batch's loss.
    raise NotImplementedError
