"""Hostile: values and endings the runner must survive, each a zero with a readable message.

An exception whose __str__ and __repr__ raise, a 50 MB exception message, a list nested 100,000 deep,
an integer of 200,000 bits, a float subclass that equals everything, a thread that floods stdout, a
generator instead of params, and an atexit handler that never returns with SIGTERM ignored.
"""

import atexit
import signal
import sys
import threading
import time


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")


class EqualsAnything(float):
    def __eq__(self, other):
        return True

    def __float__(self):
        raise RuntimeError("not a float today")


def affine_forward(x, w, b):
    raise Unprintable()


def affine_backward(dout, x, w, b):
    raise ValueError("x" * 50_000_000)


def relu_forward(x):
    out = cur = []
    for _ in range(100_000):
        cur.append([])
        cur = cur[0]
    return out


def relu_backward(dout, x):
    return 2 ** 200_000


def softmax_loss(scores, y):
    return EqualsAnything(1.0), {"dscores": scores}


def two_layer_loss(params, X, y):
    def flood():
        while True:
            sys.stdout.write("y" * 10_000 + "\n")

    threading.Thread(target=flood, daemon=True).start()
    time.sleep(0.5)
    return 0.0, {}


def train_xor(seed):
    return (value for value in range(3))


def _never_return():
    time.sleep(10**6)


atexit.register(_never_return)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
