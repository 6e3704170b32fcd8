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
