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


def predict_1d(params, x, activation="tanh"):
    """A network with one hidden layer on a 1-D input: y_hat = f(x W1 + b1) W2 + b2.

    params: dict of float64 arrays W1 (1, H), b1 (H,), W2 (H, 1), b2 (1,), for a width H.
    x: (N,) float64, one number per example. activation: the hidden layer's f, "tanh", "relu" or
    "linear" (the identity: no non-linearity at all); any other name: ValueError.
    The output layer is linear (no f after W2), so y_hat can take any value.
    Returns y_hat: (N,) float64.
    """
    ### BEGIN SOLUTION
    layers = {"tanh": tanh_forward, "relu": relu_forward, "linear": lambda a: a}
    if activation not in layers:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(layers)}")
    # With one input feature, x[:, None] @ W1 is the outer product x[:, None] * W1: (N, 1) by (1, H).
    hidden = layers[activation](x[:, None] * params["W1"] + params["b1"])
    return (hidden @ params["W2"] + params["b2"])[:, 0]
    ### END SOLUTION


def loss_1d(params, x, y, activation="tanh"):
    """Mean squared error of predict_1d on (x, y), and its gradient with respect to every parameter.

    params, x, activation: as for predict_1d; y: (N,) float64, the targets.
    Returns (loss, grads): loss, a float, mean((y_hat - y) ** 2); grads, a dict with the keys and shapes
    of params (float64), grads[k] = dloss/dparams[k]. params is left as it was.
    """
    ### BEGIN SOLUTION
    layers = {"tanh": (tanh_forward, tanh_backward), "relu": (relu_forward, relu_backward),
              "linear": (lambda a: a, lambda dout, a: dout)}
    if activation not in layers:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(layers)}")
    forward, backward = layers[activation]
    inputs = x[:, None]
    pre = inputs * params["W1"] + params["b1"]  # (N, H), the same as inputs @ W1 for one feature
    hidden = forward(pre)
    error = (hidden @ params["W2"] + params["b2"])[:, 0] - y
    loss = float(np.mean(error ** 2))
    dy_hat = (2.0 / len(x)) * error[:, None]  # (N, 1)
    dpre = backward(dy_hat * params["W2"].T, pre)  # (N, 1) by (1, H): the same as dy_hat @ W2.T
    grads = {"W1": inputs.T @ dpre, "b1": dpre.sum(axis=0),
             "W2": hidden.T @ dy_hat, "b2": dy_hat.sum(axis=0)}
    return loss, grads
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(0.0, 2.0, size=(1, width)),  # free: initialisation
              "b1": rng.normal(0.0, 2.0, size=width),  # free: initialisation
              "W2": np.zeros((width, 1)), "b2": np.zeros(1)}  # free: initialisation
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    history = np.empty(steps)
    for step in range(steps):
        history[step], grads = loss_1d(params, x, y, activation)
        for key in params:
            velocity[key] = momentum * velocity[key] - lr * grads[key]
            params[key] += velocity[key]
    return params, history
    ### END SOLUTION


def error_by_width(x, y, x_test, y_test, widths, steps, lr, seed, activation="tanh", momentum=0.9):
    """How close networks of growing width get to a function: the universal approximation experiment.

    x, y: (N,) float64, the training points; x_test, y_test: (M,) float64, points of the same function
    the networks were not trained on; widths: list of ints; steps, lr, seed, activation, momentum: as
    for fit_1d.
    Returns errors: (len(widths),) float64, errors[i] the largest |predict_1d(params, x_test) - y_test|
    of the network fit_1d trains with width widths[i].
    """
    ### BEGIN SOLUTION
    errors = np.empty(len(widths))
    for i, width in enumerate(widths):
        params, _ = fit_1d(x, y, width, steps, lr, seed, activation, momentum)
        errors[i] = np.max(np.abs(predict_1d(params, x_test, activation) - y_test))
    return errors
    ### END SOLUTION
