"""Hostile: ends its process at import with a success code, hoping silence reads as a pass."""
import os

os._exit(0)


def affine_forward(x, w, b):
    return x @ w + b
