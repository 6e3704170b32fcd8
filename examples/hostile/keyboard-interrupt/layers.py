"""Hostile: raises the exceptions test runners treat specially (KeyboardInterrupt, SystemExit)."""


def affine_forward(x, w, b):
    raise KeyboardInterrupt


def affine_backward(dout, x, w, b):
    raise SystemExit(0)


def relu_forward(x):
    raise GeneratorExit


def relu_backward(dout, x):
    raise KeyboardInterrupt


def softmax_loss(scores, y):
    raise SystemExit("all tests passed")


def two_layer_loss(params, X, y):
    raise KeyboardInterrupt


def train_xor(seed):
    raise SystemExit(0)
