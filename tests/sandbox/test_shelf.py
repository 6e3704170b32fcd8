"""The shelf's bookkeeping (grader.sandbox.shelf), without an engine: a waiting container goes to one
claimant only, goes back when no judge got it, is never handed out near its end, and a shelf folder
that anyone else could have planted is never used."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from grader.sandbox import RUNNER_ENV, shelf
from grader.spec import Limits

NEEDS = ("numpy",)
LIMITS = Limits()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp folder of this test's own, where the shelf folder is made."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("GRADER_SHELF_SECONDS", raising=False)
    return tmp_path


def _shelve(expires_in: float, name: str = "0123456789ab") -> Path:
    """A waiting container's entry and marker, as a restocker leaves them (no container behind it)."""
    folder = shelf.folder()
    (folder / name / "slot").mkdir(parents=True)
    marker = folder / f"{shelf.key_for(NEEDS, LIMITS)}.{name}.ready"
    marker.write_text(json.dumps({"container": "c" * 64, "slot": str(folder / name / "slot"),
                                  "image": "dl-grader:x", "expires": time.time() + expires_in}))
    return marker


def test_a_waiting_container_goes_to_one_claimant_and_back_when_no_judge_got_it(private_tmp):
    marker = _shelve(300)
    first = shelf.claim(NEEDS, LIMITS)
    assert first["container"] == "c" * 64 and not marker.exists()
    assert shelf.claim(NEEDS, LIMITS) is None  # claimed: nobody else gets it

    shelf.unclaim(first)
    again = shelf.claim(NEEDS, LIMITS)
    assert again["container"] == first["container"]

    shelf.done(again)  # a judge was given it: it removes the container; the entry goes here
    assert list(shelf.folder().iterdir()) == []


def test_a_container_near_its_end_or_of_other_limits_is_not_handed_out(private_tmp):
    _shelve(shelf.MARGIN_SECONDS - 1)
    assert shelf.claim(NEEDS, LIMITS) is None
    _shelve(300, name="ba9876543210")
    assert shelf.claim(NEEDS, Limits(memory_mb=2048)) is None
    assert shelf.claim(("numpy", "torch"), LIMITS) is None
    assert shelf.claim(NEEDS, LIMITS)["slot"].endswith("ba9876543210/slot")


def test_the_key_names_image_needs_limits_environment_and_channel(private_tmp, monkeypatch):
    key = shelf.key_for(NEEDS, LIMITS)
    assert key == shelf.key_for(NEEDS, Limits())
    assert key != shelf.key_for(NEEDS, Limits(pids=65))
    assert key != shelf.key_for(("numpy", "torch"), LIMITS)
    # A container made by a grader whose runners had another environment is not this grader's to adopt.
    monkeypatch.setitem(RUNNER_ENV, "MALLOC_MMAP_THRESHOLD_", str(1 << 20))
    assert key != shelf.key_for(NEEDS, LIMITS)
    monkeypatch.undo()
    monkeypatch.setenv("GRADER_DOCKER_CHANNEL", "attach")
    assert (key != shelf.key_for(NEEDS, LIMITS)) == (os.geteuid() == 0)  # only root uses the socket


@pytest.mark.parametrize("planted", ["open to others", "a link", "a file"])
def test_a_shelf_folder_someone_else_could_have_planted_is_never_used(private_tmp, planted):
    path = shelf.location()
    if planted == "open to others":
        path.mkdir(mode=0o700)
        path.chmod(0o777)
    elif planted == "a link":
        (private_tmp / "elsewhere").mkdir(mode=0o700)
        path.symlink_to(private_tmp / "elsewhere")
    else:
        path.write_text("")
    assert shelf.folder() is None
    assert shelf.claim(NEEDS, LIMITS) is None
    assert shelf.restock(NEEDS, LIMITS) is None


def test_zero_seconds_turns_the_shelf_off(private_tmp, monkeypatch):
    _shelve(300)
    monkeypatch.setenv("GRADER_SHELF_SECONDS", "0")
    assert shelf.claim(NEEDS, LIMITS) is None
    assert shelf.restock(NEEDS, LIMITS) is None
    assert shelf.stock(NEEDS, LIMITS) is None


def test_a_marker_whose_entry_a_sweep_just_removed_is_passed_over(private_tmp):
    marker = _shelve(300)
    shutil.rmtree(shelf.folder() / "0123456789ab")
    assert shelf.claim(NEEDS, LIMITS) is None
    assert not marker.exists()  # taken out of the way; the next sweep removes what is left of it
