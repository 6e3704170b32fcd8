"""Batch normalisation: forward in training and test mode with running statistics, and the backward
pass of the training-mode forward; for a fully connected layer's outputs and for convolutional maps.

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
