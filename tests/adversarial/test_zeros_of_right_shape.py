"""No test awards points for zeros of the right shape (issue: self-consistency earned points).

For every step, the reference solution is wrapped so that each function of the step's API returns
zeros with exactly the structure, shapes and dtypes of the right answer (exceptions still raised).
Zeros from a forward pass and zeros from its backward pass agree with each other, so any test that
compares the submission only with itself would pass; every test must compare with the right values
(or a property the reference has and a constant has not) and give such a submission nothing. The only
points allowed are for tests whose whole point is an exception the wrapper leaves in place.
"""

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.pipeline.batch import grade_batch
from grader.spec import find_assignments
from tests.conftest import COURSE

STEPS = [spec for spec in find_assignments(COURSE) if spec.solution.is_dir()]
# Tests that check that a function refuses bad input (the wrapped reference still raises), and 16's
# device tests (a device name is no number to zero; what they may believe is the GPU issue's).
EXEMPT = ("refuses", "unknown_activation", "get_device", "device_placement")

ZEROING = '''

import numpy as _zeros_np


def _zeros_like_answer(value):
    if isinstance(value, _zeros_np.ndarray):
        return _zeros_np.zeros_like(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_zeros_like_answer(item) for item in value)
    if isinstance(value, dict):
        return {key: _zeros_like_answer(item) for key, item in value.items()}
    if isinstance(value, (int, float, _zeros_np.number)) and not isinstance(value, bool):
        return type(value)(0)
    return value


def _returning_zeros(function):
    def zeros(*args, **kwargs):
        return _zeros_like_answer(function(*args, **kwargs))
    return zeros


for _name in NAMES:
    if callable(globals().get(_name)) and not isinstance(globals()[_name], type):
        globals()[_name] = _returning_zeros(globals()[_name])
'''


@pytest.fixture(scope="module")
def zero_reports(tmp_path_factory):
    """Each step's zeros submission graded, two steps at a time (each grading uses one core)."""
    folders = {spec.id: tmp_path_factory.mktemp(spec.id) for spec in STEPS}  # mktemp is not thread-safe

    def grade_zeros(spec):
        folder = folders[spec.id] / "zeros"
        shutil.copytree(spec.solution, folder)
        for filename, names in spec.api.items():
            path = folder / filename
            path.write_text(path.read_text() + ZEROING.replace("NAMES", repr(list(names))))
        return grade_batch(spec, [folder], folder.parent / "reports", jobs=1, progress=None)["zeros"]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip((spec.id for spec in STEPS), pool.map(grade_zeros, STEPS)))


@pytest.mark.slow
@pytest.mark.parametrize("spec", STEPS, ids=[spec.id for spec in STEPS])
def test_zeros_of_the_right_shape_score_nothing(zero_reports, spec):
    report = zero_reports[spec.id]
    if report["status"] == "skipped":  # 16 where the sandbox has no torch
        pytest.skip(report["reason"])
    assert report["status"] == "graded", report["reason"]
    scored = [t["name"] for t in report["tests"] if t["score"] > 0 and not any(r in t["name"] for r in EXEMPT)]
    assert scored == [], f"{spec.id}: tests that pay for zeros of the right shape: {scored}"
