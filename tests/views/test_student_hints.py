"""The student's copy of a hidden failure names the mistake (its hint, the quantity that is wrong) but
never the hidden values, inputs or parametrize ids; the instructor's copy keeps everything."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader.pipeline.grade import grade
from grader.judge.checks import CheckFailed, assert_close
from grader.report.views.console import to_text
from grader.report.views.gradescope import to_gradescope
from grader.report.views.hidden import HIDDEN_MESSAGE, student_hint, student_names
from grader.report.views.html import to_html
from grader.report.views.junit import to_junit
from grader.report.views.prairielearn import to_prairielearn
from grader.spec import find_assignment
from grader.authoring.examples import materialise
from tests.conftest import COURSE


def _failure(got, expected, **kwargs) -> str:
    with pytest.raises(CheckFailed) as caught:
        assert_close(got, expected, **kwargs)
    return str(caught.value)


def _hidden(message: str, status: str = "failed", name: str = "hidden/t.py::test_f[31-3-2-1-16]") -> dict:
    return {"name": name, "visibility": "hidden", "status": status, "score": 0, "max_score": 2,
            "message": message, "duration": 0.1}


def test_a_hint_is_shown_without_the_values_it_came_with():
    message = _failure(np.array([1.5, 2.5]), np.array([1.25, 2.75]), name="db",
                       hints={"db must be summed over the batch axis": np.array([1.5, 2.5])})
    assert "1.25" in message  # the instructor's message holds the expected value
    assert student_hint(_hidden(message)) == ("db: some values differ from the expected ones. "
                                              "Hint: db must be summed over the batch axis")


@pytest.mark.parametrize("got, expected, batch", [
    (np.array([3.7, 7.4]), np.array([1.0, 2.0]), None),   # a constant factor everywhere
    (np.float64(9.0), 1.5, None),                          # exactly 6 times one number
    (np.array([64.0, 128.0]), np.array([1.0, 2.0]), 64),   # the batch size
    (np.array([1 / 64, 2 / 64]), np.array([1.0, 2.0]), 64),
])
def test_a_ratio_diagnosis_loses_its_number(got, expected, batch):
    """The ratio of the student's value to the hidden expected one would give the expected one away."""
    message = _failure(got, expected, name="loss", batch_size=batch)
    assert "Hint: your result is" in message  # the judge's diagnosis fired (guards against its rewording)
    hint = student_hint(_hidden(message))
    assert "Hint: your result is" in hint and not any(d in hint for d in "0123456789"), hint


def test_no_hint_from_errors_and_mutation_labels_from_the_runner():
    crafted = "f() raised ValueError: Hint: the hidden input was [0.123, 0.456]"
    assert student_hint(_hidden(crafted, status="error")) == ""
    mutation = ("q_update() changed its argument `q[0.123]` in place; return new arrays instead, "
                "the caller's data must stay as it was")
    assert student_hint(_hidden(mutation)) == ("q_update() changed an argument in place; return new arrays "
                                               "instead, the caller's data must stay as it was")


def test_parametrize_ids_of_hidden_tests_are_replaced_by_case_numbers():
    tests = [_hidden("", name="hidden/t.py::test_f[31-3-2-1-16]"), _hidden("", name="hidden/t.py::test_f[7-1]"),
             _hidden("", name="hidden/t.py::test_g"),
             {**_hidden("", name="public/t.py::test_h[3-1]"), "visibility": "visible"}]
    assert student_names(tests) == ["hidden/t.py::test_f (case 1 of 2)", "hidden/t.py::test_f (case 2 of 2)",
                                    "hidden/t.py::test_g", "public/t.py::test_h[3-1]"]


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """Two example mistakes of 05, graded: one named only by hidden hints, one an in-place change."""
    spec = find_assignment(COURSE, "05-backprop")
    return {name: grade(spec, materialise(COURSE, "05-backprop", name), isolate=False)
            for name in ("loss-summed", "softmax-shift-in-place")}


def _student_copies(report: dict) -> dict[str, str]:
    return {"console": to_text(report), "html": to_html(report), "junit": to_junit(report),
            "gradescope": json.dumps(to_gradescope(report)), "prairielearn": json.dumps(to_prairielearn(report))}


@pytest.mark.slow
@pytest.mark.parametrize("example, mistake", [
    ("loss-summed", "average the loss over the batch"),
    ("softmax-shift-in-place", "softmax_loss() changed an argument in place"),
])
def test_the_student_copy_of_an_example_mistake_names_it(reports, example, mistake):
    report = reports[example]
    hidden = [t for t in report["tests"] if t["visibility"] == "hidden" and t["status"] != "passed"]
    assert hidden, "the example must lose points in hidden tests for this test to mean anything"
    secrets = {t["message"] for t in hidden} - {t["message"] for t in report["tests"] if t["visibility"] == "visible"}
    ids = [t["name"].split("[", 1)[1] for t in report["tests"] if t["visibility"] == "hidden" and "-" in t["name"]]
    for view, text in _student_copies(report).items():
        assert mistake in text.replace("&#x27;", "'"), view
        assert not any(s in text for s in secrets), view
        assert not any(f"[{i}" in text for i in ids), view  # e.g. [64-30-20]
    # the instructor's copy keeps the argument's name, which the student's copy leaves out
    if example == "softmax-shift-in-place":
        assert "`scores`" in to_text(report, show_hidden=True)


@pytest.mark.parametrize("message, shown", [
    ("loss: got 2.5, expected 1.25 (relative error 1.0e+00). The loss is wrong at the gradient check's inputs, "
     "so the gradient check of dW cannot be trusted yet: fix the loss first.",
     "loss: the value is not the expected one. The loss is wrong at the gradient check's inputs, so the "
     "gradient check of dW cannot be trusted yet: fix the loss first."),
    ("predictions: accuracy 89.80% on 10000 held-out examples, needs at least 95.00%. On its own training "
     "digits it reaches only 90.1%: the network underfits",
     "predictions: accuracy 89.80% on 10000 held-out examples, needs at least 95.00%."),
    ("dW: relative error 1.0e+00 against the numerical gradient (needs < 1e-05); worst at [2]: got 9.83144, "
     "numerical 1.63857. Hint: divide by N", "dW: it does not match the numerical gradient. Hint: divide by N"),
    ("out: shape (7, 3), expected (3, 7). It looks transposed.", "out: the shape is wrong. It looks transposed."),
    ("the cost went up during gradient descent", ""),
])
def test_what_the_student_reads_of_each_kind_of_check(message, shown):
    assert student_hint(_hidden(message)) == shown
