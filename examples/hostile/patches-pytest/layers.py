"""Hostile: imports pytest and the grader in its own process and patches them to report passes."""
import sys

try:
    import _pytest.runner
    import pytest

    _pytest.runner.call_and_report = lambda *a, **k: None
    pytest.fail = lambda *a, **k: None
    pytest.skip = lambda *a, **k: None
except ImportError:
    pass
for name in list(sys.modules):
    if name.startswith("grader"):
        module = sys.modules[name]
        for attr in ("assert_close", "assert_gradient", "CheckFailed"):
            if hasattr(module, attr):
                setattr(module, attr, lambda *a, **k: None)


def _nothing(*args, **kwargs):
    return None


affine_forward = affine_backward = relu_forward = relu_backward = _nothing
softmax_loss = two_layer_loss = train_xor = _nothing
