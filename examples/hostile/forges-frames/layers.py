"""Hostile: writes its own protocol frames straight onto the runner's channel descriptors."""
import json
import os
import struct


def _frame(message):
    body = json.dumps(message).encode()
    return struct.pack(">II", len(body), 0) + body


def _flood(*args, **kwargs):
    for fd in range(3, 12):
        try:
            os.write(fd, _frame({"ok": True, "value": 0.0}) * 3)
            os.write(fd, b"\xff" * 64)
        except OSError:
            pass
    return 0.0


affine_forward = affine_backward = relu_forward = relu_backward = _flood
softmax_loss = two_layer_loss = train_xor = _flood
