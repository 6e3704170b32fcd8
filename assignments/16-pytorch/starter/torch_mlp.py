"""The MNIST MLP again, this time with PyTorch: a model, its weights as numpy, one SGD step, training
and prediction, on a GPU when torch sees one.

Everything that enters or leaves these functions is numpy: images are uint8 (N, 28, 28), labels int64
(N,), scores float32 (N, 10). Tensors live on the model's device inside; only the results come back to
the CPU as numpy arrays.
"""

import numpy as np
import torch
from torch import nn


def get_device():
    """The device to compute on: "cuda" when torch sees a GPU, else "cpu"."""
    # TODO: ask torch whether CUDA is available.
    raise NotImplementedError


def build_model(hidden, seed):
    """nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)) with PyTorch's default
    initialisation, created right after torch.manual_seed(seed) and moved to get_device().
    Returns the model: its output is raw class scores (logits), no softmax.
    """
    # TODO: seed torch, build the Sequential model and move it to get_device().
    raise NotImplementedError


def model_device(model):
    """Where the model's parameters live: the device type, "cuda" or "cpu"."""
    # TODO: the device type of the model's first parameter.
    raise NotImplementedError


def model_weights(model):
    """The model's parameters as float32 numpy arrays on the CPU, laid out like the numpy MLP's:
    {"W1": (784, H), "b1": (H,), "W2": (H, 10), "b2": (10,)} (nn.Linear stores weight as (out, in)).
    """
    # TODO: detach each Linear's weight and bias, bring them to the CPU as numpy, transpose the weights.
    raise NotImplementedError


def to_inputs(images, device):
    """uint8 images (N, 28, 28) -> a float32 tensor (N, 784) of pixels scaled to [0, 1], on device."""
    # TODO: flatten, convert to a float32 tensor on device, scale to [0, 1].
    raise NotImplementedError


def forward(model, images):
    """Class scores (N, 10) float32 numpy of uint8 images (N, 28, 28): computed on the model's device,
    without tracking gradients, and brought back to the CPU.
    """
    # TODO: run the model on the inputs under torch.no_grad() and return numpy scores.
    raise NotImplementedError


def sgd_step(model, images, labels, lr):
    """One step of plain SGD (torch.optim.SGD, no momentum, no weight decay) with step size lr on the
    mean cross-entropy of the model's scores for this batch: images uint8 (N, 28, 28), labels int64 (N,).
    Each call is one step on its own: gradients of an earlier call must not leak into this one.
    Returns the loss before the step as a float.
    """
    # TODO: zero the gradients, compute the cross-entropy, backward, optimizer step; return the loss.
    raise NotImplementedError


def train(images, labels, seed):
    """Train a fresh build_model(hidden of your choice, seed) on these images and labels with the
    optimiser, batch size and number of epochs of your choice (keep it to seconds on a CPU).
    Returns the trained model.
    """
    # TODO: build a model and train it on minibatches with an optimiser of your choice.
    raise NotImplementedError


def predict(model, images):
    """Predicted labels, int64 numpy (N,), of uint8 images (N, 28, 28)."""
    # TODO: the class with the largest score for each image, as int64.
    raise NotImplementedError
