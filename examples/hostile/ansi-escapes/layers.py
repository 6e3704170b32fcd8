"""Hostile: messages and prints full of terminal escapes that would draw "Score: 66/66" over a zero.

Every function raises an error whose message moves the cursor up, erases lines and writes a fake
passing score; the module prints the same at import. The console view must show these escapes as
text (\\x1b[...), never obey them.
"""
import sys

FAKE = "\x1b[2K\r\x1b[1A\x1b[2K\x1b[32mPASS\x1b[0m everything\r\nScore: 66/66\x1b[8m"
print(FAKE, flush=True)
sys.stderr.write("\u202e66/66 :erocS\n")


def _lie(*args, **kwargs):
    raise ValueError(FAKE)


affine_forward = affine_backward = relu_forward = relu_backward = _lie
softmax_loss = two_layer_loss = train_xor = _lie
