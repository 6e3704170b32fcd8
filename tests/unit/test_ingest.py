"""Ingest: any submission becomes a safe workspace, or a clear SubmissionError."""

import io
import os
import tarfile
import zipfile

import pytest

from grader.errors import SubmissionError
from grader.ingest import ingest, submission_name

CODE = b"def affine_forward(x, w, b):\n    return x @ w + b\n"


def test_folder(tmp_path, backprop):
    (tmp_path / "layers.py").write_bytes(CODE)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"junk")
    ws = ingest(tmp_path, backprop)
    try:
        assert ws.files == ("layers.py",)
        assert (ws.path / "layers.py").read_bytes() == CODE
        assert oct(ws.path.stat().st_mode & 0o777) == "0o755"
    finally:
        ws.remove()


def test_same_content_same_hash(tmp_path, backprop):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "layers.py").write_bytes(CODE)
    one, two = ingest(tmp_path / "a", backprop), ingest(tmp_path / "b", backprop)
    assert one.sha256 == two.sha256
    one.remove(), two.remove()


def test_zip_of_a_folder_is_unwrapped(tmp_path, backprop):
    path = tmp_path / "alice.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hw5/layers.py", CODE)
    ws = ingest(path, backprop)
    assert ws.files == ("layers.py",)
    ws.remove()


def test_tar_gz(tmp_path, backprop):
    path = tmp_path / "bob.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        info = tarfile.TarInfo("layers.py")
        info.size = len(CODE)
        t.addfile(info, io.BytesIO(CODE))
    ws = ingest(path, backprop)
    assert ws.files == ("layers.py",)
    ws.remove()


def test_missing_file_is_named(tmp_path, backprop):
    (tmp_path / "layer.py").write_bytes(CODE)
    with pytest.raises(SubmissionError, match=r"missing layers.py \(found: layer.py\)"):
        ingest(tmp_path, backprop)


def test_symlink_is_refused(tmp_path, backprop):
    (tmp_path / "layers.py").symlink_to("/etc/passwd")
    with pytest.raises(SubmissionError, match="not a regular file"):
        ingest(tmp_path, backprop)


def test_zip_path_escape_is_refused(tmp_path, backprop):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../../layers.py", CODE)
    with pytest.raises(SubmissionError, match="outside the submission"):
        ingest(path, backprop)


def test_tar_symlink_is_refused(tmp_path, backprop):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as t:
        info = tarfile.TarInfo("layers.py")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
        t.addfile(info)
    with pytest.raises(SubmissionError, match="not a regular file"):
        ingest(path, backprop)


def test_zip_bomb_stops_at_the_cap(tmp_path, backprop):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("layers.py", CODE)
        z.writestr("big.bin", b"\0" * (4 << 20))
    with pytest.raises(SubmissionError, match="over the limit of 512 KB per file"):
        ingest(path, backprop)


def test_damaged_archives(tmp_path, backprop):
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SubmissionError, match="not a readable zip"):
        ingest(tmp_path / "x.zip", backprop)
    (tmp_path / "y.tar.gz").write_bytes(os.urandom(100))
    with pytest.raises(SubmissionError, match="tar"):
        ingest(tmp_path / "y.tar.gz", backprop)


def test_a_name_packed_twice_is_refused(tmp_path, backprop):
    """Which copy counts would depend on the unpacking tool: neither is graded."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, which is the point
        with zipfile.ZipFile(tmp_path / "twice.zip", "w") as archive:
            archive.writestr("layers.py", "def f():\n    return 0\n")
            archive.writestr("./layers.py", "def f():\n    return 1\n")
    with pytest.raises(SubmissionError, match="holds layers.py twice"):
        ingest(tmp_path / "twice.zip", backprop)
    with tarfile.open(tmp_path / "twice.tar", "w") as archive:
        for text in (b"a = 0\n", b"a = 1\n"):
            info = tarfile.TarInfo("hw/layers.py")
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    with pytest.raises(SubmissionError, match="holds hw/layers.py twice"):
        ingest(tmp_path / "twice.tar", backprop)


def test_not_utf8_and_unknown_kinds(tmp_path, backprop):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "layers.py").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        ingest(tmp_path / "d", backprop)
    (tmp_path / "a.rar").write_bytes(b"x")
    with pytest.raises(SubmissionError, match="not a folder"):
        ingest(tmp_path / "a.rar", backprop)
    with pytest.raises(SubmissionError, match="no such file"):
        ingest(tmp_path / "nothing", backprop)


@pytest.mark.parametrize("name,expected", [("alice", "alice"), ("alice.zip", "alice"),
                                           ("bob.tar.gz", "bob"), ("c.py", "c"), (".zip", ".zip")])
def test_submission_name(tmp_path, name, expected):
    assert submission_name(tmp_path / name) == expected
