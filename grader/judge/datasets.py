"""Datasets the judge reads from the course's own data/ folder, checked against their checksums.

Nothing here downloads: the files ship with the course, so grading works offline on a fresh machine.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path

import numpy as np

from grader.errors import InfrastructureError

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
}


@functools.cache
def load_mnist(folder: Path) -> dict[str, np.ndarray]:
    """MNIST as uint8 arrays: images (N, 28, 28), labels (N,), checked against the canonical MD5s."""
    return {key: _read_idx(folder / name, md5) for key, (name, md5) in MNIST_FILES.items()}


def _read_idx(path: Path, md5: str) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise InfrastructureError(f"{path}: cannot read the dataset ({exc})") from None
    actual = hashlib.md5(raw).hexdigest()
    if actual != md5:
        raise InfrastructureError(f"{path}: checksum mismatch: md5 {actual} of the uncompressed bytes, "
                                  f"expected {md5}; restore the file from the course repository")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def held_out_digits(mnist: dict[str, np.ndarray], seed: int, count: int = 10000) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` MNIST test digits, each pixel moved by a whole number in [-16, 16] drawn from
    `seed` (clipped to 0..255), as uint8 (count, 28, 28), and their labels (count,).

    The test set ships with the course; the noise makes digits no submission has seen, so a hidden
    accuracy cannot be met by looking the answers up, while a model that learned digits loses little.
    """
    clean = mnist["test_images"][:count]
    noise = np.random.default_rng(seed).integers(-16, 17, size=clean.shape)
    return np.clip(clean.astype(int) + noise, 0, 255).astype(np.uint8), mnist["test_labels"][:count]
