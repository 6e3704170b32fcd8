"""Hostile: while being imported, writes a forged runner greeting whose values are a bare NaN.

The judge expects the interpreter's version there (a plain string); JSON's `NaN` is no value the
runner's encoder ever sends, so the frame is refused as malformed and nothing of it reaches a check
or the report. It once made the report writer refuse the report and stopped the whole batch.
"""
import json
import os
import struct

NAN = float("nan")


def _forge(message):
    body = json.dumps(message).encode()  # json.dumps writes the bare token NaN
    return struct.pack(">II", len(body), 0) + body


_HELLO = _forge({"ok": True, "value": {"$d": [["python", NAN], ["numpy", NAN], ["missing", []]]}})
for _fd in range(3, 12):
    try:
        os.write(_fd, _HELLO)
    except OSError:
        pass


def _zero(*args, **kwargs):
    return 0.0


affine_forward = affine_backward = relu_forward = relu_backward = _zero
softmax_loss = two_layer_loss = train_xor = _zero
