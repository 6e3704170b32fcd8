"""Ingest: any submission becomes a safe workspace, or a clear SubmissionError."""

import io
import os
import tarfile
import zipfile

import pytest

from grader.errors import SubmissionError
from grader.ingest.workspace import ingest, submission_name

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
                                           ("bob.tar.gz", "bob"), ("c.py", "c"), (".zip", ".zip"),
                                           ("\x1b[2Keve.zip", "\\x1b[2Keve"), ("caf\udce9", "caf\\xe9")])
def test_submission_name(tmp_path, name, expected):
    assert submission_name(tmp_path / name) == expected


# -- hostile inputs: each is refused with a reason, fast, before anything big is unpacked -------------

def _inputs():
    """examples/hostile/make_inputs.py, the builder of the inputs that cannot be committed."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "hostile" / "make_inputs.py"
    spec = importlib.util.spec_from_file_location("hostile_make_inputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The temp folder ingest makes workspaces in, private to this test, to see what it leaves."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _refused(source, spec, match, *, seconds=5.0):
    import time

    started = time.monotonic()
    with pytest.raises(SubmissionError, match=match):
        ingest(source, spec)
    took = time.monotonic() - started
    assert took < seconds, f"refusing {source.name} took {took:.1f} s"


@pytest.mark.parametrize("builder", ["non_utf8_name_tar", "non_utf8_name_folder"])
def test_a_name_that_is_not_utf8_is_refused_and_leaves_no_workspace(tmp_path, private_tmp, backprop,
                                                                     builder):
    """Does a tar or folder holding a file named with the byte \\xe9 get a reason, not a crash?"""
    source = getattr(_inputs(), builder)(tmp_path)
    _refused(source, backprop, r"the name '.*\\x(e9|ff).*' is not UTF-8 text")
    assert list(private_tmp.iterdir()) == []


def test_a_zip_whose_utf8_flag_lies_is_refused(tmp_path, backprop):
    _refused(_inputs().lying_zip(tmp_path), backprop, "marked UTF-8 but is not")


def test_a_notebook_cell_with_a_lone_surrogate_is_refused(tmp_path, backprop):
    _refused(_inputs().lone_surrogate_notebook(tmp_path), backprop,
             r"cell 1 holds \\ud800, half of a surrogate pair", seconds=30)  # nbformat's first import


def test_a_notebook_nested_past_the_parser_is_refused(tmp_path, backprop):
    """50,000 nested unary minuses make ast.parse raise MemoryError: a reason, not a crash."""
    _refused(_inputs().deep_notebook(tmp_path), backprop, "nested too deeply", seconds=30)


def test_notebook_code_over_the_file_cap_is_refused_before_parsing(tmp_path, backprop):
    import json

    cell = "x = " + "-" * (600 << 10) + "1\n"
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": None, "outputs": [],
         "source": cell}]}))
    _refused(path, backprop, r"code cells \(which become layers.py\) hold 600 KB, over the limit of 512 KB",
             seconds=30)


def test_a_bzip2_tar_declaring_2gb_is_refused_at_its_header(tmp_path, backprop):
    """92 KB on disk, 2 GB in one skipped entry: refused on the header, nothing decompressed past it."""
    source = _inputs().declared_2gb_bzip2(tmp_path)
    assert source.stat().st_size < 200_000
    _refused(source, backprop, "declare more than 64 MB", seconds=2)


def test_a_tar_of_a_million_entries_is_refused_in_little_memory(tmp_path, backprop):
    import tracemalloc

    source = _inputs().million_entries_tar(tmp_path)
    tracemalloc.start()
    try:
        _refused(source, backprop, "more than 2000 entries", seconds=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"peak {peak >> 20} MB"


def test_a_tar_that_expands_too_far_is_stopped_by_the_ratio_cap(tmp_path, backprop):
    """Small files of zeros, each under every per-file cap, 1000x smaller packed: a bomb all the same."""
    path = tmp_path / "zeros.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        for i in range(60):
            info = tarfile.TarInfo(f"hw/data{i}.bin")
            info.size = 100 << 10
            t.addfile(info, io.BytesIO(bytes(info.size)))
    _refused(path, backprop, "expands over 200 times its packed size")


def test_a_folder_with_too_many_entries_is_refused_while_listing(tmp_path, backprop):
    (tmp_path / "layers.py").write_bytes(CODE)
    for i in range(2100):
        (tmp_path / f"d{i}").mkdir()
    _refused(tmp_path, backprop, "more than 2000 entries")


def test_a_zip_listing_too_many_entries_is_refused_before_parsing(tmp_path, backprop):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(2100):
            z.writestr(f"d{i}/", b"")
    _refused(path, backprop, "lists 2100 entries, more than 2000")


def test_ingest_has_a_time_budget(tmp_path, backprop, monkeypatch):
    import grader.ingest.workspace

    monkeypatch.setattr(grader.ingest.workspace, "INGEST_SECONDS", -1)
    (tmp_path / "layers.py").write_bytes(CODE)
    _refused(tmp_path, backprop, "ingest time limit")


def test_a_git_repository_that_would_check_out_2gb_is_refused_before_checkout(tmp_path, private_tmp,
                                                                               backprop):
    """Its commit is listed from object headers: 64 x 32 MB is refused without writing a byte of it."""
    repo = _inputs().git_2gb(tmp_path)
    _refused(repo, backprop, "files add up to more than 64 MB", seconds=10)
    assert list(private_tmp.iterdir()) == []


def test_a_git_fetch_is_stopped_once_its_folder_passes_the_cap(tmp_path, backprop, monkeypatch):
    """The watch kills git mid-fetch: with no room at all, the first pack bytes end it."""
    import grader.ingest.git

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "layers.py").write_bytes(CODE * 2000)
    subprocess_run = __import__("subprocess").run
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=s", "-c", "user.email=s@x", "commit",
                                                 "-qm", "x"]):
        subprocess_run(["git", "-C", str(tmp_path / "src"), *args], check=True)
    monkeypatch.setattr(grader.ingest.git, "PACK_SLACK_BYTES", 0)
    with pytest.raises(SubmissionError, match="takes more than 0 MB on disk"):
        grader.ingest.git.read_repository(tmp_path / "src", lambda folder: {}, max_bytes=0)


def test_a_zip_member_that_expands_too_far_is_refused_before_reading(tmp_path, backprop):
    """Even where files.max_kb allows a large file, 8 MB of zeros packed 1000:1 is not unpacked."""
    import dataclasses

    roomy = dataclasses.replace(backprop, max_kb=32 << 10)
    path = tmp_path / "zeros.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("layers.py", CODE)
        z.writestr("data.bin", bytes(8 << 20))
    _refused(path, roomy, "data.bin expands over 200 times its packed size")
