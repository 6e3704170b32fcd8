"""Activation functions and weight initialisation, and what they do to a deep network's gradients.

Every array is float64. Each backward function receives the upstream gradient `dout` and the input `x`
the forward function was called with, and returns the gradient with respect to `x` (shaped like `x`).
"""

import numpy as np


def sigmoid_forward(x):
    """Logistic sigmoid, elementwise: 1 / (1 + exp(-x)). Returns an array shaped like x, in [0, 1]."""
    # TODO: return 1 / (1 + exp(-x)) elementwise.
    raise NotImplementedError


def sigmoid_backward(dout, x):
    """Gradient of the sigmoid at the input x: dout * s * (1 - s) with s = sigmoid(x)."""
    # TODO: compute s = sigmoid(x), then return dout * s * (1 - s).
    raise NotImplementedError


def tanh_forward(x):
    """Hyperbolic tangent, elementwise. Returns an array shaped like x, in [-1, 1]."""
    # TODO: return tanh(x) elementwise.
    raise NotImplementedError


def tanh_backward(dout, x):
    """Gradient of tanh at the input x: dout * (1 - tanh(x) ** 2)."""
    # TODO: return dout * (1 - tanh(x) ** 2).
    raise NotImplementedError


def relu_forward(x):
    """Rectified linear unit, elementwise: max(0, x)."""
    # TODO: return max(0, x) elementwise.
    raise NotImplementedError


def relu_backward(dout, x):
    """Gradient of ReLU: dout where x > 0, else 0 (also at exactly x = 0)."""
    # TODO: pass dout through where x > 0, zero elsewhere.
    raise NotImplementedError


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU, elementwise: x where x > 0, else alpha * x (0 <= alpha < 1)."""
    # TODO: return x where x > 0, alpha * x elsewhere.
    raise NotImplementedError


def leaky_relu_backward(dout, x, alpha=0.01):
    """Gradient of leaky ReLU: dout where x > 0, else alpha * dout (also at exactly x = 0)."""
    # TODO: pass dout where x > 0, alpha * dout elsewhere (x = 0 included).
    raise NotImplementedError


def xavier_init(fan_in, fan_out, seed):
    """Xavier (Glorot) initialisation: normal, mean 0, variance 2 / (fan_in + fan_out).

    fan_in, fan_out: ints; seed: int for np.random.default_rng. Returns W: (fan_in, fan_out) float64.
    """
    # TODO: draw a (fan_in, fan_out) normal matrix with std sqrt(2 / (fan_in + fan_out)) from np.random.default_rng(seed).
    raise NotImplementedError


def he_init(fan_in, fan_out, seed):
    """He (Kaiming) initialisation for ReLU layers: normal, mean 0, variance 2 / fan_in.

    fan_in, fan_out: ints; seed: int for np.random.default_rng. Returns W: (fan_in, fan_out) float64.
    """
    # TODO: draw a (fan_in, fan_out) normal matrix with std sqrt(2 / fan_in) from np.random.default_rng(seed).
    raise NotImplementedError


def collapse_linear(weights, biases):
    """The single affine layer equal to a stack of affine layers with no non-linearity between them.

    weights: list of L arrays, W_l of shape (D_{l-1}, D_l); biases: list of L arrays, b_l of shape (D_l,).
    The stack computes h_l = h_{l-1} @ W_l + b_l from h_0 = x (N, D_0).
    Returns (W, b) with W: (D_0, D_L) and b: (D_L,) such that x @ W + b equals h_L for every x.
    """
    # TODO: multiply the weights in order, and carry each bias through the later layers' weights.
    raise NotImplementedError


def layer_gradient_norms(x, weights, activation, dout):
    """Backpropagate through a deep stack and report how large each layer's weight gradient is.

    The stack has no biases: a_l = h_{l-1} @ W_l, h_l = f(a_l), from h_0 = x (N, D_0), with f the
    activation named by `activation`: "sigmoid", "tanh" or "relu" (any other name: ValueError).
    weights: list of L arrays W_l (D_{l-1}, D_l); dout: (N, D_L), the loss gradient at h_L.
    Returns norms: (L,) float64, norms[l] the Frobenius norm of dLoss/dW for weights[l] (first layer first).
    """
    # TODO: run the stack forward keeping each layer's input and pre-activation, then backward, recording each weight gradient's norm.
    raise NotImplementedError


def predict_1d(params, x, activation="tanh"):
    """A network with one hidden layer on a 1-D input: y_hat = f(x W1 + b1) W2 + b2.

    params: dict of float64 arrays W1 (1, H), b1 (H,), W2 (H, 1), b2 (1,), for a width H.
    x: (N,) float64, one number per example. activation: the hidden layer's f, "tanh", "relu" or
    "linear" (the identity: no non-linearity at all); any other name: ValueError.
    The output layer is linear (no f after W2), so y_hat can take any value.
    Returns y_hat: (N,) float64.
    """
    # TODO: hidden = f(x as a column @ W1 + b1), f chosen by name (else ValueError); return hidden @ W2 + b2 as (N,).
    raise NotImplementedError


def loss_1d(params, x, y, activation="tanh"):
    """Mean squared error of predict_1d on (x, y), and its gradient with respect to every parameter.

    params, x, activation: as for predict_1d; y: (N,) float64, the targets.
    Returns (loss, grads): loss, a float, mean((y_hat - y) ** 2); grads, a dict with the keys and shapes
    of params (float64), grads[k] = dloss/dparams[k]. params is left as it was.
    """
    # TODO: forward pass keeping the pre-activation, the mean squared error, then backward to every parameter's gradient.
    raise NotImplementedError


def fit_1d(x, y, width, steps, lr, seed, activation="tanh", momentum=0.9):
    """Fit a one-hidden-layer network of the given width to the points (x, y) by gradient descent.

    x, y: (N,) float64; width: H, an int; steps: an int >= 0; lr: the learning rate, a float;
    seed: int for np.random.default_rng, which draws the initial params (how is your choice, but the
    same seed, width and data must give the same initial params); activation: as for predict_1d.
    Full-batch gradient descent with momentum: every velocity v[k] starts at 0, then `steps` times,
    with grads from loss_1d on all of x and y: v[k] = momentum * v[k] - lr * grads[k]; params[k] += v[k].
    (momentum = 0 is plain gradient descent.)
    Returns (params, history): the trained params (shapes as for predict_1d, H = width) and history:
    (steps,) float64, the loss before each step.
    """
    # TODO: draw initial params from np.random.default_rng(seed), then `steps` momentum steps on loss_1d, recording each loss before its step.
    raise NotImplementedError


def error_by_width(x, y, x_test, y_test, widths, steps, lr, seed, activation="tanh", momentum=0.9):
    """How close networks of growing width get to a function: the universal approximation experiment.

    x, y: (N,) float64, the training points; x_test, y_test: (M,) float64, points of the same function
    the networks were not trained on; widths: list of ints; steps, lr, seed, activation, momentum: as
    for fit_1d.
    Returns errors: (len(widths),) float64, errors[i] the largest |predict_1d(params, x_test) - y_test|
    of the network fit_1d trains with width widths[i].
    """
    # TODO: for each width, fit_1d on (x, y), then the largest |prediction - y_test| on x_test.
    raise NotImplementedError
