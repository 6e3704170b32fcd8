"""Frames at pipe speed? One array through the judge<->runner channel against the pipe's own floor.

For a small array and a 10 MB array: encode + pack + send + receive + decode over an OS pipe (a
reader thread on the other end), beside the same number of raw bytes written and read through the
same kind of pipe. Rounds are interleaved; min / median / max and the ratio of medians are printed.

    .venv/bin/python bench/frames.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import numpy as np

from grader.runtime import wire

CAP = 1 << 30


def through_channel(value: np.ndarray) -> float:
    r, w = os.pipe()
    reader, writer = wire.Channel(r, -1, max_frame_bytes=CAP), wire.Channel(-1, w, max_frame_bytes=CAP)
    got = []
    thread = threading.Thread(target=lambda: got.append(wire.decode(*_swap(reader.receive()))))
    start = time.perf_counter()
    thread.start()
    tree, blobs = wire.encode(value)
    writer.send({"value": tree}, blobs)
    thread.join()
    elapsed = time.perf_counter() - start
    os.close(r), os.close(w)
    assert got[0].shape == value.shape
    return elapsed


def _swap(received: tuple[dict, list]) -> tuple:
    message, blobs = received
    return message["value"], blobs


def through_pipe(size: int) -> float:
    r, w = os.pipe()
    payload = bytes(size)
    done = []

    def drain() -> None:
        left = size
        while left:
            left -= len(os.read(r, min(left, 1 << 20)))
        done.append(True)

    start = time.perf_counter()
    thread = threading.Thread(target=drain)
    thread.start()
    view = memoryview(payload)
    while view:
        view = view[os.write(w, view[: 1 << 20]):]
    thread.join()
    elapsed = time.perf_counter() - start
    os.close(r), os.close(w)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    cases = {"small (4x5 float64)": np.ones((4, 5)), "10 MB (1250x1000 float64)": np.ones((1250, 1000))}
    print(f"{'array':28} {'channel ms (min/med/max)':>28} {'pipe floor ms':>16} {'ratio':>7}")
    for label, value in cases.items():
        channel, pipe = [], []
        for _ in range(args.rounds):  # interleaved, so a noisy moment hits both
            channel.append(through_channel(value) * 1e3)
            pipe.append(through_pipe(value.nbytes + 128) * 1e3)
        med_c, med_p = statistics.median(channel), statistics.median(pipe)
        spread = f"{min(channel):.2f}/{med_c:.2f}/{max(channel):.2f}"
        print(f"{label:28} {spread:>28} {med_p:>16.2f} {med_c / med_p:>6.1f}x")


if __name__ == "__main__":
    main()
