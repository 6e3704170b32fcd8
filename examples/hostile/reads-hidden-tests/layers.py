"""Hostile: looks for the hidden tests and the reference solution to copy their answers."""
import glob
import importlib.util
import os

FOUND = []
for pattern in ("/work/**/solutions/05-backprop/layers.py", "/**/solutions/05-backprop/layers.py",
                "../**/solutions/*/layers.py", os.path.expanduser("~/**/layers.py")):
    FOUND += [p for p in glob.glob(pattern, recursive=True) if "hostile" not in p]
HIDDEN = glob.glob("/work/**/tests/hidden/*.py", recursive=True)
print("found solutions:", FOUND[:3], "hidden tests:", HIDDEN[:3])

if FOUND:
    spec = importlib.util.spec_from_file_location("stolen", FOUND[0])
    stolen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stolen)
    globals().update({k: getattr(stolen, k) for k in dir(stolen) if not k.startswith("_")})
else:
    def _nothing(*args, **kwargs):
        raise NotImplementedError("nothing to copy")

    affine_forward = affine_backward = relu_forward = relu_backward = _nothing
    softmax_loss = two_layer_loss = train_xor = _nothing
