"""Compatibility mode scores what `nbgrader autograde` scores, on the notebooks nbgrader ships.

nbgrader's own CLI grades a throwaway course (generate_assignment, then autograde, with a real
kernel); we grade the same submitted notebooks against the same source notebooks in our sandbox.
Every (notebook, student) pair must get the same score and the same maximum.
"""

import pytest

from grader.nbgrader_compat import grade_notebook
from tests.notebooks.nbgrader_cases import CASES, nbgrader_scores

PAIRS = [(group, notebook, student) for group, notebooks in CASES.items()
         for notebook, _, students in notebooks for student in students]


@pytest.fixture(scope="module")
def theirs(tmp_path_factory):
    scores = {}
    for group, notebooks in CASES.items():
        found = nbgrader_scores(tmp_path_factory.mktemp(group), "ps1", notebooks)
        scores.update({(group, *key): value for key, value in found.items()})
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("group,notebook,student", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_scores_equal_nbgrader_autograde(theirs, group, notebook, student):
    source, students = next((src, st) for name, src, st in CASES[group] if name == notebook)
    report = grade_notebook(source, students[student], name=student, isolate=False)
    assert report["status"] == "graded", report["reason"]
    ours = (float(report["score"]), float(report["max_score"]))
    assert ours == theirs[(group, notebook, student)], [(t["name"], t["status"], t["message"][:80])
                                                         for t in report["tests"]]
