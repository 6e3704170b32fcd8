"""MNIST as the judge loads it: a damaged file is refused with its path and both checksums.

The judge reads `<course>/data/mnist` (grader.judge.plugin's `mnist` fixture passes that folder to
`load_mnist`), so every test here builds its own folder under tmp_path: links to the course's intact
files plus at most one damaged copy. The course's data/ is only read, never changed.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import pytest

from grader.authoring.new import new_step
from grader.errors import InfrastructureError
from grader.judge.datasets import MNIST_FILES, load_mnist
from grader.pipeline.grade import grade
from grader.spec import find_assignment
from tests.conftest import COURSE

DATA = COURSE / "data" / "mnist"
LABELS = "t10k-labels-idx1-ubyte.gz"  # read last, and small: a damaged copy costs nothing to make
LABELS_MD5 = "27ae3e4e09519cfbb04c329615203637"  # data/mnist/README.md, the canonical MD5


@pytest.fixture(autouse=True)
def _forget_loaded_folders():
    """load_mnist caches per folder; each test's folder is new, and its arrays should not outlive it."""
    yield
    load_mnist.cache_clear()


def _folder(tmp_path: Path, **replacements: bytes) -> Path:
    """A data folder linking the course's files, with the named files' bytes replaced."""
    folder = tmp_path / "mnist"
    folder.mkdir(parents=True)
    for name, _ in MNIST_FILES.values():
        if name in replacements:
            (folder / name).write_bytes(replacements[name])
        else:
            (folder / name).symlink_to(DATA / name)
    return folder


def _one_label_changed() -> tuple[bytes, str]:
    """The test labels gzipped again with the first label changed, and the md5 of the changed bytes."""
    raw = bytearray(gzip.decompress((DATA / LABELS).read_bytes()))
    raw[8] = (raw[8] + 1) % 10  # first label, after the IDX magic and count
    return gzip.compress(bytes(raw), mtime=0), hashlib.md5(bytes(raw)).hexdigest()


def test_intact_files_load():
    """The control: the course's files pass the same check the damaged copies fail."""
    assert MNIST_FILES["test_labels"] == (LABELS, LABELS_MD5)
    data = load_mnist(DATA)
    shapes = {key: value.shape for key, value in data.items()}
    assert shapes == {"train_images": (60000, 28, 28), "train_labels": (60000,),
                      "test_images": (10000, 28, 28), "test_labels": (10000,)}


def test_a_changed_label_is_refused_with_both_checksums(tmp_path):
    damaged, actual = _one_label_changed()
    folder = _folder(tmp_path, **{LABELS: damaged})
    with pytest.raises(InfrastructureError) as refused:
        load_mnist(folder)
    assert actual != LABELS_MD5
    assert str(refused.value) == (f"{folder / LABELS}: checksum mismatch: md5 {actual} of the uncompressed "
                                  f"bytes, expected {LABELS_MD5}; restore the file from the course repository")


def test_a_file_that_is_not_gzip_is_refused(tmp_path):
    folder = _folder(tmp_path, **{LABELS: b"not gzip"})
    with pytest.raises(InfrastructureError) as refused:
        load_mnist(folder)
    assert str(refused.value) == f"{folder / LABELS}: cannot read the dataset (Not a gzipped file (b'no'))"


def test_a_truncated_file_is_refused(tmp_path):
    damaged, _ = _one_label_changed()
    folder = _folder(tmp_path, **{LABELS: damaged[:-20]})
    with pytest.raises(InfrastructureError) as refused:
        load_mnist(folder)
    assert str(refused.value) == (f"{folder / LABELS}: cannot read the dataset (Compressed file ended "
                                  "before the end-of-stream marker was reached)")


def test_a_missing_file_is_refused(tmp_path):
    folder = _folder(tmp_path)
    (folder / LABELS).unlink()
    with pytest.raises(InfrastructureError) as refused:
        load_mnist(folder)
    assert str(refused.value) == (f"{folder / LABELS}: cannot read the dataset ([Errno 2] No such file or "
                                  f"directory: '{folder / LABELS}')")


def test_grading_with_a_damaged_course_copy_is_an_infra_error(tmp_path):
    """End to end: the judge finds the data at <course>/data/mnist; a step whose test asks for the
    `mnist` fixture is not graded (no score, never a zero) and the reason names the file and both MD5s."""
    for part in ("assignments", "solutions", "examples"):
        shutil.copytree(COURSE / part / "_template", tmp_path / part / "_template")
    new_step(tmp_path, "17-leaky")
    step = tmp_path / "assignments" / "17-leaky"
    with (step / "tests" / "public" / "test_step.py").open("a") as tests:
        tests.write("\n\n@pytest.mark.points(1)\ndef test_reads_mnist(mnist):\n"
                    "    assert mnist['test_labels'].shape == (10000,)\n")
    toml = step / "assignment.toml"
    toml.write_text(toml.read_text().replace("points = 10\n", "points = 11\n", 1))
    damaged, actual = _one_label_changed()
    folder = _folder(tmp_path / "data", **{LABELS: damaged})
    spec = find_assignment(tmp_path, "17-leaky")
    report = grade(spec, spec.solution, isolate=False)
    assert (report["status"], report["score"]) == ("infra_error", None)
    assert report["reason"] == (f"{folder / LABELS}: checksum mismatch: md5 {actual} of the uncompressed "
                                f"bytes, expected {LABELS_MD5}; restore the file from the course repository")
