"""Shared fixtures of the framework's own tests."""

from pathlib import Path

import pytest

from grader.spec import AssignmentSpec, find_assignment

COURSE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Path:
    return COURSE


@pytest.fixture(scope="session")
def backprop() -> AssignmentSpec:
    return find_assignment(COURSE, "backprop")
