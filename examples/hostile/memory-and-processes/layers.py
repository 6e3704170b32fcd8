"""Hostile: tries to exhaust memory and processes instead of computing."""
import os
import time

import numpy as np


def affine_forward(x, w, b):
    return np.ones((1 << 31,))  # 16 GB


def affine_backward(dout, x, w, b):
    hog = []
    while True:
        hog.append(bytearray(1 << 26))


def relu_forward(x):
    for _ in range(10_000):
        if os.fork() == 0:
            time.sleep(3600)
    return x


relu_backward = softmax_loss = two_layer_loss = train_xor = affine_backward
