"""Activation functions and weight initialisation, and what they do to a deep network's gradients.

Every array is float64. Each backward function receives the upstream gradient `dout` and the input `x`
the forward function was called with, and returns the gradient with respect to `x` (shaped like `x`).
"""

import numpy as np


def sigmoid_forward(x):
    """Logistic sigmoid, elementwise: 1 / (1 + exp(-x)). Returns an array shaped like x, in [0, 1]."""
    ### BEGIN SOLUTION
    # exp(-x) overflows to inf for x < -709; 1 / (1 + inf) = 0 is still the right limit.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))
    ### END SOLUTION


def sigmoid_backward(dout, x):
    """Gradient of the sigmoid at the input x: dout * s * (1 - s) with s = sigmoid(x)."""
    ### BEGIN SOLUTION
    s = sigmoid_forward(x)
    return dout * s * (1.0 - s)
    ### END SOLUTION


def tanh_forward(x):
    """Hyperbolic tangent, elementwise. Returns an array shaped like x, in [-1, 1]."""
    ### BEGIN SOLUTION
    return np.tanh(x)
    ### END SOLUTION


def tanh_backward(dout, x):
    """Gradient of tanh at the input x: dout * (1 - tanh(x) ** 2)."""
    ### BEGIN SOLUTION
    return dout * (1.0 - np.tanh(x) ** 2)
    ### END SOLUTION


def relu_forward(x):
    """Rectified linear unit, elementwise: max(0, x)."""
    ### BEGIN SOLUTION
    return np.maximum(0.0, x)
    ### END SOLUTION


def relu_backward(dout, x):
    """Gradient of ReLU: dout where x > 0, else 0 (also at exactly x = 0)."""
    ### BEGIN SOLUTION
    return dout * (x > 0)
    ### END SOLUTION


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU, elementwise: x where x > 0, else alpha * x (0 <= alpha < 1)."""
    ### BEGIN SOLUTION
    # For alpha < 1 the larger of x and alpha * x is exactly the leaky ReLU.
    return np.maximum(x, alpha * x)
    ### END SOLUTION


def leaky_relu_backward(dout, x, alpha=0.01):
    """Gradient of leaky ReLU: dout where x > 0, else alpha * dout (also at exactly x = 0)."""
    ### BEGIN SOLUTION
    return dout * np.where(x > 0, 1.0, alpha)
    ### END SOLUTION


def xavier_init(fan_in, fan_out, seed):
    """Xavier (Glorot) initialisation: normal, mean 0, variance 2 / (fan_in + fan_out).

    fan_in, fan_out: ints; seed: int for np.random.default_rng. Returns W: (fan_in, fan_out) float64.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
    ### END SOLUTION


def he_init(fan_in, fan_out, seed):
    """He (Kaiming) initialisation for ReLU layers: normal, mean 0, variance 2 / fan_in.

    fan_in, fan_out: ints; seed: int for np.random.default_rng. Returns W: (fan_in, fan_out) float64.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    ### END SOLUTION


def collapse_linear(weights, biases):
    """The single affine layer equal to a stack of affine layers with no non-linearity between them.

    weights: list of L arrays, W_l of shape (D_{l-1}, D_l); biases: list of L arrays, b_l of shape (D_l,).
    The stack computes h_l = h_{l-1} @ W_l + b_l from h_0 = x (N, D_0).
    Returns (W, b) with W: (D_0, D_L) and b: (D_L,) such that x @ W + b equals h_L for every x.
    """
    ### BEGIN SOLUTION
    W, b = weights[0], biases[0]
    for w, c in zip(weights[1:], biases[1:]):
        # An earlier bias is just another input to the later layers: it goes through their weights too.
        W, b = W @ w, b @ w + c
    return W, b
    ### END SOLUTION


def layer_gradient_norms(x, weights, activation, dout):
    """Backpropagate through a deep stack and report how large each layer's weight gradient is.

    The stack has no biases: a_l = h_{l-1} @ W_l, h_l = f(a_l), from h_0 = x (N, D_0), with f the
    activation named by `activation`: "sigmoid", "tanh" or "relu" (any other name: ValueError).
    weights: list of L arrays W_l (D_{l-1}, D_l); dout: (N, D_L), the loss gradient at h_L.
    Returns norms: (L,) float64, norms[l] the Frobenius norm of dLoss/dW for weights[l] (first layer first).
    """
    ### BEGIN SOLUTION
    layers = {"sigmoid": (sigmoid_forward, sigmoid_backward), "tanh": (tanh_forward, tanh_backward),
              "relu": (relu_forward, relu_backward)}
    if activation not in layers:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(layers)}")
    forward, backward = layers[activation]
    inputs, pre_activations = [], []
    h = x
    for w in weights:
        inputs.append(h)
        pre_activations.append(h @ w)
        h = forward(pre_activations[-1])
    norms = np.empty(len(weights))
    grad = dout
    for layer in reversed(range(len(weights))):
        da = backward(grad, pre_activations[layer])
        norms[layer] = np.linalg.norm(inputs[layer].T @ da)
        grad = da @ weights[layer].T
    return norms
    ### END SOLUTION
