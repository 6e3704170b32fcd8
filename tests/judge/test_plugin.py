"""The judge's pytest plugin on small made-up assignments: points, visibility and authoring mistakes."""

import textwrap

import pytest

from grader.judge.launch import run_judge
from grader.pipeline.grade import grade
from grader.spec import load_spec

TOML = '''
title = "Demo"
points = {points}
[api]
"m.py" = ["f"]
'''


def make(tmp_path, public, hidden="", points=4):
    root = tmp_path / "assignments" / "01-demo"
    for folder, text in (("public", public), ("hidden", hidden)):
        (root / "tests" / folder).mkdir(parents=True)
        if text:
            (root / "tests" / folder / f"test_{folder}.py").write_text(textwrap.dedent(text))
    (root / "assignment.toml").write_text(TOML.format(points=points))
    (tmp_path / "solutions" / "01-demo").mkdir(parents=True)
    (tmp_path / "solutions" / "01-demo" / "m.py").write_text("def f():\n    return 1\n")
    return load_spec(root, course=tmp_path)


def judge(spec):
    return run_judge(spec, None, invalid="no submission", sandbox="local", isolate=False, visibility="all")


def test_points_visibility_and_not_run(tmp_path):
    spec = make(tmp_path, """
        import pytest
        @pytest.mark.points(1)
        def test_a(submission): pass
        """, """
        import pytest
        @pytest.mark.points(3)
        def test_b(submission, reference): pass
        """)
    outcome = judge(spec)
    assert outcome["spec_errors"] == [] and outcome["infra_error"] is None
    tests = {t["name"]: t for t in outcome["tests"]}
    assert tests["public/test_public.py::test_a"]["visibility"] == "visible"
    assert tests["hidden/test_hidden.py::test_b"]["visibility"] == "hidden"
    assert tests["hidden/test_hidden.py::test_b"]["max_score"] == 3
    assert {t["status"] for t in tests.values()} == {"not_run"}
    assert all(t["message"] == "no submission" for t in tests.values())


def test_group_points_are_shared(tmp_path):
    spec = make(tmp_path, """
        import pytest
        @pytest.mark.group_points(3)
        class TestGroup:
            def test_one(self, submission): pass
            def test_two(self, submission): pass
            @pytest.mark.parametrize("n", [1, 2])
            def test_more(self, submission, n): pass
        @pytest.mark.points(1)
        def test_single(submission): pass
        """, points=4)
    outcome = judge(spec)
    assert outcome["spec_errors"] == []
    assert sorted(t["max_score"] for t in outcome["tests"]) == [0.75, 0.75, 0.75, 0.75, 1]


@pytest.mark.parametrize("public,hidden,points,message", [
    ("def test_a(submission): pass", "", 4, "needs @pytest.mark.points(N)"),
    ("import pytest\n@pytest.mark.points(4)\ndef test_a(reference): pass", "", 4,
     "a public test cannot use the `reference` fixture"),
    ("import pytest\n@pytest.mark.points(3)\ndef test_a(submission): pass", "", 4,
     "points = 4, but the tests' points markers add up to 3"),
    ("import pytest\npytest.skip('later', allow_module_level=True)", "", 4, "skips at module level"),
    ("def test_a(:", "", 4, "cannot collect"),
    ("import pytest\n@pytest.mark.pionts(4)\ndef test_a(submission): pass", "", 4, "pionts"),
])
def test_authoring_mistakes_are_spec_errors(tmp_path, public, hidden, points, message):
    outcome = judge(make(tmp_path, public, hidden, points))
    errors = " ".join(outcome["spec_errors"]) + str(outcome.get("infra_error"))
    assert message in errors, errors


def test_a_sandbox_without_a_needed_module_skips_without_a_score(tmp_path):
    spec = make(tmp_path, """
        import pytest
        @pytest.mark.points(4)
        def test_a(submission):
            assert submission.f() == 1
        """)
    toml = spec.root / "assignment.toml"
    toml.write_text(toml.read_text() + '\n[runtime]\nneeds = ["no_such_module_for_this_test"]\n')
    spec = load_spec(spec.root, course=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.py").write_text("def f():\n    return 1\n")
    report = grade(spec, work, isolate=False)
    assert report["status"] == "skipped" and report["score"] is None
    assert "no_such_module_for_this_test is not installed in the sandbox" in report["reason"]
    assert [t["status"] for t in report["tests"]] == ["not_run"]


def test_the_judges_own_cpu_and_memory_limits_fail_the_test_not_the_run(tmp_path):
    """A check that computes too long or allocates too much (e.g. on arrays a submission made to
    broadcast) is that test's error with a message; the other tests and the run go on."""
    spec = make(tmp_path, """
        import numpy as np
        import pytest
        @pytest.mark.points(1)
        @pytest.mark.judge_cpu_seconds(0.5)
        def test_spins():
            while True:
                pass
        @pytest.mark.points(1)
        def test_allocates():
            np.ones(600_000_000)  # 4.8 GB, over the judge's memory limit
        @pytest.mark.points(2)
        def test_fine():
            assert np.ones(3).sum() == 3
        """)
    outcome = judge(spec)
    assert outcome["infra_error"] is None and outcome["spec_errors"] == []
    tests = {t["name"].rsplit("::", 1)[1]: t for t in outcome["tests"]}
    assert tests["test_spins"]["status"] == "error"
    assert "more than 0.5 s of computing" in tests["test_spins"]["message"]
    assert tests["test_allocates"]["status"] == "error"
    assert "more memory than the grader allows" in tests["test_allocates"]["message"]
    assert tests["test_fine"]["status"] == "passed"
    assert outcome["timings"]["judge_cpu_seconds"] >= 0.4
