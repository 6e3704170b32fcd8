"""A multi-layer perceptron for MNIST, by hand in numpy: preprocessing, loss and gradients, training.

Layers are affine -> ReLU -> ... -> affine -> softmax. Parameters live in a dict: W1, b1 for the first
layer, W2, b2 for the second, and so on; Wk has shape (inputs, outputs) and bk shape (outputs,).
"""

import numpy as np


def preprocess(images):
    """uint8 images (N, 28, 28) -> float32 rows (N, 784) with pixel values scaled to [0, 1]."""
    # TODO: flatten each image to 784 values and scale them to [0, 1] as float32.
    raise NotImplementedError


def init_params(layer_sizes, seed):
    """He-initialised parameters for the given layer sizes, e.g. [784, 128, 10].

    Wk ~ Normal(0, sqrt(2 / fan_in)), drawn with np.random.default_rng(seed); bk = 0. float64.
    Returns a dict with W1, b1, ..., WL, bL (L = len(layer_sizes) - 1).
    """
    # TODO: draw each Wk from Normal(0, sqrt(2 / fan_in)) with one default_rng(seed); biases are zeros.
    raise NotImplementedError


def forward(params, X):
    """Class scores (N, C) of the MLP for inputs X (N, D): ReLU after every layer but the last."""
    # TODO: apply the layers in order, with ReLU after all but the last.
    raise NotImplementedError


def loss_and_grads(params, X, y):
    """Mean softmax cross-entropy of the MLP on (X, y) and its gradients.

    X: (N, D), y: (N,) integer labels. Returns (loss, grads), grads with the keys and shapes of params.
    """
    # TODO: run the forward pass keeping each layer's input, then backpropagate the mean cross-entropy.
    raise NotImplementedError


def predict(params, images):
    """Predicted digit for every uint8 image (N, 28, 28): an int64 array (N,)."""
    # TODO: preprocess, run forward and take the argmax over the classes.
    raise NotImplementedError


def train(images, labels, seed):
    """Train an MLP on uint8 images (N, 28, 28) and integer labels (N,); return its params dict.

    Use init_params, loss_and_grads and minibatch SGD (with momentum if you like). It must reach 95%
    accuracy on digits it has never seen within the time limit (30 seconds on one CPU core).
    """
    # TODO: initialise a network and train it with minibatch SGD on loss_and_grads.
    raise NotImplementedError
