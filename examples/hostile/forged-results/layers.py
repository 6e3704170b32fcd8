"""Hostile: tries to forge a result instead of computing one."""
import json
import os
import sys

FAKE = {"status": "graded", "score": 66, "max_score": 66, "tests": []}
for target in ("result.json", "/tmp/result.json", "../result.json", "/submission/result.json"):
    try:
        with open(target, "w") as f:
            json.dump(FAKE, f)
    except OSError:
        pass
print("PASSED 66/66")
print(json.dumps(FAKE))
sys.stderr.write("============================== 23 passed ==============================\n")


def _forge(*args, **kwargs):
    print(json.dumps({"ok": True, "value": 1.0}))
    return {"ok": True, "passed": True}


affine_forward = affine_backward = relu_forward = relu_backward = _forge
softmax_loss = two_layer_loss = train_xor = _forge
