"""A fully connected autoencoder for MNIST in numpy: encoder, decoder, squared-error loss, training.

The encoder maps an image (784 pixels) through a ReLU hidden layer to a short code; the decoder maps the
code through a ReLU hidden layer back to 784 pixels squashed into (0, 1) by a sigmoid. Parameters live
in a dict: W1, b1 and W2, b2 for the encoder, W3, b3 and W4, b4 for the decoder; Wk is (inputs, outputs).
"""

import numpy as np


def preprocess(images):
    """uint8 images (N, 28, 28) -> float32 rows (N, 784) with pixel values scaled to [0, 1]."""
    # TODO: flatten each image to 784 values and scale them to [0, 1] as float32.
    raise NotImplementedError


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow warnings for large |x|; same shape and dtype as x."""
    # TODO: compute 1 / (1 + exp(-x)) in a form that cannot overflow, keeping x's dtype.
    raise NotImplementedError


def init_params(sizes, seed):
    """He-initialised parameters for the layer sizes [D, H, K]: pixels, hidden units, code length.

    W1 (D, H), W2 (H, K), W3 (K, H), W4 (H, D), drawn in that order from one np.random.default_rng(seed)
    with standard deviation sqrt(2 / fan_in) (fan_in = the number of rows); biases b1..b4 are zeros.
    All float64.
    """
    # TODO: draw W1, W2, W3, W4 in order from one default_rng(seed) with He standard deviations; zero biases.
    raise NotImplementedError


def encode(params, X):
    """Codes (N, K) of inputs X (N, D): relu(X @ W1 + b1) @ W2 + b2 (the code itself is linear)."""
    # TODO: affine, ReLU, affine: the code has no non-linearity.
    raise NotImplementedError


def decode(params, Z):
    """Reconstructions (N, D) in (0, 1) of codes Z (N, K): sigmoid(relu(Z @ W3 + b3) @ W4 + b4)."""
    # TODO: affine, ReLU, affine, sigmoid.
    raise NotImplementedError


def loss_and_grads(params, X):
    """Squared reconstruction error of X (N, D), summed over pixels and averaged over the N images.

    loss = sum((decode(encode(X)) - X) ** 2) / N. Returns (loss, grads), grads keyed and shaped like params.
    """
    # TODO: forward through encoder and decoder, the loss, then backward through all four layers.
    raise NotImplementedError


def reconstruct(params, images):
    """Reconstructions of uint8 images (N, 28, 28) as float32 rows (N, 784) in (0, 1)."""
    # TODO: preprocess, encode, decode; return float32.
    raise NotImplementedError


def train(images, seed):
    """Train an autoencoder with a code of at most 32 numbers on uint8 images (N, 28, 28).

    Use init_params, loss_and_grads and minibatch SGD with momentum. Returns the trained params dict.
    """
    # TODO: initialise with a code of at most 32, then minibatch SGD with momentum on loss_and_grads.
    raise NotImplementedError
