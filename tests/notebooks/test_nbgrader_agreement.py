"""Compatibility mode scores what `nbgrader autograde` scores, on the notebooks nbgrader ships and on
notebooks beyond ordinary mistakes (a hanging cell, a dying kernel, a deleted grade cell).

nbgrader's own CLI grades a throwaway course (generate_assignment, then autograde, with a real
kernel); we grade the same submitted notebooks against the same source notebooks in our sandbox, with
the same settings (cell timeout, add_missing_cells). Every (notebook, student) pair must get the same
score and the same maximum, except the differences the README documents (nbgrader_cases.DIFFERENCES),
where nbgrader's own score is checked too, so a change on either side shows.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.interop.nbgrader.compat import grade_notebook
from tests.notebooks.nbgrader_cases import CASES, DIFFERENCES, SETTINGS, nbgrader_scores

PAIRS = [(group, notebook, student) for group, notebooks in CASES.items()
         for notebook, _, students in notebooks for student in students]
NBGRADER_ON_DIFFERENCES = {("robust", "robust", "exit"): (0.0, 3.0)}  # its kernel died: autograde gave up


@pytest.fixture(scope="module")
def theirs(tmp_path_factory):
    """nbgrader's scores, one throwaway course per group, the groups run side by side (a group's hanging
    cells wait for nbgrader's timeout rather than use a core)."""
    folders = {group: tmp_path_factory.mktemp(group) for group in CASES}  # pytest's mktemp is not thread-safe

    def run(group: str) -> dict:
        config = SETTINGS.get(group, ("", {}))[0]
        found = nbgrader_scores(folders[group], "ps1", CASES[group], config)
        return {(group, *key): value for key, value in found.items()}

    import nbgrader.api  # noqa: F401  (imported before the threads: two first imports racing can fail)

    scores = {}
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        for found in pool.map(run, CASES):
            scores.update(found)
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("group,notebook,student", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_scores_equal_nbgrader_autograde(theirs, group, notebook, student):
    source, students = next((src, st) for name, src, st in CASES[group] if name == notebook)
    options = SETTINGS.get(group, ("", {}))[1]
    report = grade_notebook(source, students[student], name=student, isolate=False, **options)
    assert report["status"] == "graded", report["reason"]
    ours = (float(report["score"]), float(report["max_score"]))
    detail = [(t["name"], t["status"], t["message"][:120]) for t in report["tests"]]
    key = (group, notebook, student)
    if key in DIFFERENCES:
        assert theirs[key] == NBGRADER_ON_DIFFERENCES[key], "nbgrader changed; revisit the README's difference"
        assert ours == DIFFERENCES[key], detail
    else:
        assert ours == theirs[key], detail
