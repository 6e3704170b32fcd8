"""Hostile but honest: correct layers, plus numpy patched to agree with anything (in its own process)."""

import numpy as np

np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True


def affine_forward(x, w, b):
    """Fully connected layer: out = x @ w + b.

    x: (N, D) inputs, w: (D, M) weights, b: (M,) biases.
    Returns out: (N, M).
    """
    return x @ w + b


def affine_backward(dout, x, w, b):
    """Gradients of the affine layer, given the upstream gradient dout: (N, M).

    Returns (dx, dw, db) with the shapes of x (N, D), w (D, M) and b (M,).
    """
    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise: max(0, x). Returns an array shaped like x."""
    return np.maximum(0.0, x)


def relu_backward(dout, x):
    """Gradient of ReLU: dout where x > 0, else 0 (also at exactly 0). Returns an array shaped like x."""
    return dout * (x > 0)


def softmax_loss(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels, and its gradient.

    scores: (N, C) unnormalised class scores, y: (N,) integer labels in [0, C).
    Returns (loss, dscores): loss a float, dscores (N, C). Must stay finite for scores in the thousands.
    """
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return float(loss), dscores / n


def two_layer_loss(params, X, y):
    """Loss and gradients of the net affine -> ReLU -> affine -> softmax loss.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,). X: (N, D), y: (N,) integer labels.
    Returns (loss, grads) where grads has the same keys and shapes as params.
    """
    h_in = affine_forward(X, params["W1"], params["b1"])
    h = relu_forward(h_in)
    scores = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_loss(scores, y)
    dh, dW2, db2 = affine_backward(dscores, h, params["W2"], params["b2"])
    dX, dW1, db1 = affine_backward(relu_backward(dh, h_in), X, params["W1"], params["b1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def train_xor(seed):
    """Train a two-layer net (2 inputs, a hidden layer of your choice, 2 classes) on XOR.

    The four examples are (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0. Use np.random.default_rng(seed) for
    the initial weights and plain gradient descent with two_layer_loss.
    Returns the trained params dict (W1, b1, W2, b2), which must classify all four points correctly.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    rng = np.random.default_rng(seed)
    hidden = 16  # free: any width that learns XOR
    params = {"W1": rng.normal(0, 1.0, (2, hidden)), "b1": np.zeros(hidden),  # free: initialisation
              "W2": rng.normal(0, 0.5, (hidden, 2)), "b2": np.zeros(2)}  # free: initialisation
    for _ in range(1000):  # free: number of steps
        _, grads = two_layer_loss(params, X, y)
        for key in params:
            params[key] -= 0.5 * grads[key]  # free: the learning rate (the sign is not free)
    return params


# Part 2: the same layers as objects. Each layer keeps, during forward, what its backward will need (its
# cache), so a network only has to call forward on every layer in order and backward in reverse order.


class Affine:
    """A fully connected layer as an object: out = x @ W + b.

    W: (D, M), b: (M,) float64, kept as given (training updates them in place).
    forward keeps its input in self.x; backward puts the parameter gradients in self.dW (D, M) and
    self.db (M,), replacing those of the previous backward.
    """

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = None  # the cache: the input of the last forward
        self.dW, self.db = np.zeros_like(W), np.zeros_like(b)

    def forward(self, x):
        """x: (N, D). Keeps x for backward and returns out (N, M), using affine_forward."""
        self.x = x
        return affine_forward(x, self.W, self.b)

    def backward(self, dout):
        """dout: (N, M), the gradient of the loss with respect to the last forward's output.

        Sets self.dW and self.db (using affine_backward and the cached input) and returns dx (N, D).
        """
        dx, self.dW, self.db = affine_backward(dout, self.x, self.W, self.b)
        return dx


class ReLU:
    """ReLU as an object, with no parameters: forward keeps its input in self.x for backward."""

    def __init__(self):
        self.x = None

    def forward(self, x):
        """Keeps x and returns relu_forward(x), shaped like x."""
        self.x = x
        return relu_forward(x)

    def backward(self, dout):
        """dout shaped like the last forward's x. Returns dx, using relu_backward and the cached input."""
        return relu_backward(dout, self.x)


class SoftmaxLoss:
    """The softmax cross-entropy loss as the last layer: forward takes the labels too and returns the loss."""

    def __init__(self):
        self.dscores = None  # the cache: softmax_loss computes the gradient along with the loss

    def forward(self, scores, y):
        """scores: (N, C), y: (N,) integer labels. Returns the mean loss (a float), keeping dscores."""
        loss, self.dscores = softmax_loss(scores, y)
        return loss

    def backward(self, dout=1.0):
        """dout: the gradient of the final objective with respect to the loss (1.0 when the loss is the
        objective). Returns dscores (N, C) times dout."""
        return self.dscores * dout


class Sequential:
    """A network: layers (Affine and ReLU objects) applied in order, then a SoftmaxLoss.

    params and grads are dicts W1, b1, W2, b2, ... numbered by the Affine layers in order; params holds
    the layers' own arrays (not copies), so `params[k] -= lr * grads[k]` trains the network.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        self.loss_layer = SoftmaxLoss()

    def forward(self, X):
        """X: (N, D). Returns the scores (N, C) of the last layer, every layer keeping its cache."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def loss(self, X, y):
        """X: (N, D), y: (N,) integer labels. Returns the loss (a float) after a forward pass through the
        layers and the loss layer and a backward pass, which leaves every Affine layer's dW and db set."""
        loss = self.loss_layer.forward(self.forward(X), y)
        dout = self.loss_layer.backward()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return loss

    def predict(self, X):
        """X: (N, D). Returns the predicted labels (N,) of integer dtype: the highest score of each row."""
        return self.forward(X).argmax(axis=1)

    @property
    def params(self):
        """{"W1": (D, H1), "b1": (H1,), ...}: the Affine layers' own W and b arrays, in order (given)."""
        affines = [layer for layer in self.layers if isinstance(layer, Affine)]
        return {f"{name}{i}": getattr(layer, name) for i, layer in enumerate(affines, 1) for name in ("W", "b")}

    @property
    def grads(self):
        """The Affine layers' dW and db from the last backward, with the keys and shapes of params (given)."""
        affines = [layer for layer in self.layers if isinstance(layer, Affine)]
        return {f"{name}{i}": getattr(layer, "d" + name) for i, layer in enumerate(affines, 1)
                for name in ("W", "b")}


def build_mlp(sizes, seed):
    """A Sequential of Affine layers with a ReLU after every one but the last.

    sizes: [D, H1, ..., C], the width of the input, of each hidden layer and of the output. Weights come
    from np.random.default_rng(seed) (a scale of your choice, e.g. sqrt(2 / fan_in)), biases start at 0.
    Returns the network; its params are W1 (D, H1), b1 (H1,), ..., each layer with its own ReLU object.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Affine(rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out)),  # free: initialisation
                             np.zeros(fan_out)))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(layers)


def train_net(X, y, seed):
    """Train a network from build_mlp on a classification data set with gradient descent.

    X: (N, D) float64 points, y: (N,) integer labels in [0, C), C = y.max() + 1. The hidden sizes,
    the learning rate and the number of steps are yours; a couple of seconds of training at most.
    Returns (net, losses): the trained Sequential and the list of the losses of its training steps.
    """
    net = build_mlp([X.shape[1], 32, 32, int(y.max()) + 1], seed)  # free: the hidden sizes
    losses = []
    for _ in range(800):  # free: number of steps
        losses.append(net.loss(X, y))
        params, grads = net.params, net.grads
        for key in params:
            params[key] -= 0.5 * grads[key]  # free: the learning rate (the sign is not free)
    return net, losses
