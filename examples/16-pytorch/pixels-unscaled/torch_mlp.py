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
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_model(hidden, seed):
    """nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)) with PyTorch's default
    initialisation, created right after torch.manual_seed(seed) and moved to get_device().
    Returns the model: its output is raw class scores (logits), no softmax.
    """
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    return model.to(get_device())


def model_device(model):
    """Where the model's parameters live: the device type, "cuda" or "cpu"."""
    return next(model.parameters()).device.type


def model_weights(model):
    """The model's parameters as float32 numpy arrays on the CPU, laid out like the numpy MLP's:
    {"W1": (784, H), "b1": (H,), "W2": (H, 10), "b2": (10,)} (nn.Linear stores weight as (out, in)).
    """
    first, last = model[0], model[2]
    return {"W1": first.weight.detach().cpu().numpy().T.copy(),
            "b1": first.bias.detach().cpu().numpy().copy(),
            "W2": last.weight.detach().cpu().numpy().T.copy(),
            "b2": last.bias.detach().cpu().numpy().copy()}


def to_inputs(images, device):
    """uint8 images (N, 28, 28) -> a float32 tensor (N, 784) of pixels scaled to [0, 1], on device."""
    flat = torch.tensor(images.reshape(images.shape[0], -1), dtype=torch.float32, device=device)
    return flat


def forward(model, images):
    """Class scores (N, 10) float32 numpy of uint8 images (N, 28, 28): computed on the model's device,
    without tracking gradients, and brought back to the CPU.
    """
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(to_inputs(images, device)).cpu().numpy()


def sgd_step(model, images, labels, lr):
    """One step of plain SGD (torch.optim.SGD, no momentum, no weight decay) with step size lr on the
    mean cross-entropy of the model's scores for this batch: images uint8 (N, 28, 28), labels int64 (N,).
    Each call is one step on its own: gradients of an earlier call must not leak into this one.
    Returns the loss before the step as a float.
    """
    device = next(model.parameters()).device
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    targets = torch.tensor(labels, dtype=torch.int64, device=device)
    optimizer.zero_grad()  # .grad accumulates across backward calls unless cleared
    loss = nn.functional.cross_entropy(model(to_inputs(images, device)), targets)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train(images, labels, seed):
    """Train a fresh build_model(hidden of your choice, seed) on these images and labels with the
    optimiser, batch size and number of epochs of your choice (keep it to seconds on a CPU).
    Returns the trained model.
    """
    model = build_model(128, seed)  # free: hidden width (but build_model, for the seed and the device)
    device = next(model.parameters()).device
    inputs = to_inputs(images, device)
    targets = torch.tensor(labels, dtype=torch.int64, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)  # free: optimiser and step size
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(3):  # free: epochs
        for batch in torch.randperm(inputs.shape[0], generator=order).split(64):  # free: batch size
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs[batch.to(device)]), targets[batch.to(device)])
            loss.backward()
            optimizer.step()
    return model


def predict(model, images):
    """Predicted labels, int64 numpy (N,), of uint8 images (N, 28, 28)."""
    return forward(model, images).argmax(axis=1).astype(np.int64)
