"""The student's copy of a hidden failure names the mistake (its hint, the quantity that is wrong) but
never the hidden values, inputs or parametrize ids; the instructor's copy keeps everything. What a test
measured of the student's work (the accuracy reached) is kept in the report and shown in both copies."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest

from grader.pipeline.grade import grade
from grader.judge.checks import CheckFailed, Measured, assert_accuracy, assert_all, assert_close
from grader.report.build import build_report
from grader.report.write import validate_report
from grader.report.views.console import to_text
from grader.report.views.gradescope import to_gradescope
from grader.report.views.hidden import HIDDEN_MESSAGE, student_hint, student_names
from grader.report.views.html import to_html
from grader.report.views.junit import to_junit
from grader.report.views.prairielearn import to_prairielearn
from grader.spec import find_assignment, find_assignments
from grader.authoring.examples import materialise
from tests.conftest import COURSE

SPECS = find_assignments(COURSE)


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


def test_a_checks_advice_names_the_mistake_when_no_diagnosis_fits():
    """`advice` is the author's hint for whatever makes this check fail; the judge's own diagnosis, which
    rests on evidence, wins where it fits."""
    advice = "subtract each row's maximum before exp"
    message = _failure(np.array([0.5, 0.1]), np.array([0.25, 0.75]), name="probs", advice=advice)
    assert student_hint(_hidden(message)) == f"probs: some values differ from the expected ones. Hint: {advice}"
    message = _failure(np.array([np.nan, 0.5]), np.array([0.25, 0.75]), name="probs", advice=advice)
    assert student_hint(_hidden(message)) == f"probs: some values are NaN or infinite. Hint: {advice}"
    message = _failure(np.float64(np.inf), 1.5, name="loss", advice=advice)
    assert student_hint(_hidden(message)) == f"loss: it is NaN or infinite. Hint: {advice}"
    message = _failure(np.array([-0.25, -0.75]), np.array([0.25, 0.75]), name="probs", advice=advice)
    assert message.endswith("Hint: your result has the wrong sign.")


def test_each_of_several_failed_checks_keeps_its_name_and_hint_without_values():
    """assert_all's verdict lists each failed check; the student reads each one as a single failure."""
    with pytest.raises(CheckFailed) as caught:
        with assert_all() as check:
            check(assert_close, np.array([1.5, 2.5]), np.array([1.25, 2.75]), name="dw")
            check(assert_close, np.array([1.0, 2.0]), np.array([1.0, 2.0]), name="dx")
            check(assert_close, np.array([3.5, 4.5]), np.array([1.0, 0.5]), name="db",
                  hints={"db must be summed over the batch axis": np.array([3.5, 4.5])})
    message = str(caught.value)
    assert message.startswith("2 of 3 checks failed:") and "1.25" in message
    assert student_hint(_hidden(message)) == ("dw: some values differ from the expected ones. "
                                              "db: some values differ from the expected ones. "
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
    # A message the student copy shows whole by design (an accuracy reached and its bar) is no secret.
    secrets = ({t["message"] for t in hidden if t["message"] not in student_hint(t)}
               - {t["message"] for t in report["tests"] if t["visibility"] == "visible"})
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
    ("loss: got nan, expected 0.693147. Hint: compute it from the logits",
     "loss: it is NaN or infinite. Hint: compute it from the logits"),
    ("predictions: dtype float64, expected integer class labels. Hint: use argmax over the class axis",
     "predictions: dtype float64, expected integer class labels. Hint: use argmax over the class axis"),
])
def test_what_the_student_reads_of_each_kind_of_check(message, shown):
    assert student_hint(_hidden(message)) == shown


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_the_student_copy_of_every_example_mistake_names_it(spec, local_example_reports):
    """Each example mistake's expected.toml says, in `student_sees`, what the student's copy of its report
    must say; both student copies (terminal and HTML) say it, and neither quotes a hidden message whole.
    A mistake caught only by hidden tests without a hint fails here: its student sees no more than
    "Hidden test: its details are not shown"."""
    cases, reports = local_example_reports(spec)
    mistakes = [(c, r) for c, r in zip(cases, reports.values()) if c.name not in ("reference", "starter")]
    assert mistakes, f"{spec.id}: no example mistakes"
    found = {}
    for case, report in mistakes:
        if report["status"] == "skipped":  # no torch here: nothing was graded, so nothing to read
            continue
        if not case.student_sees:
            found[case.name] = "expected.toml gives no `student_sees` (what its student copy must say)"
            continue
        # hidden messages the student view does not show whole (an accuracy and its bar it does)
        shown = {t["message"] for t in report["tests"] if t["visibility"] == "visible"}
        hidden = {t["message"] for t in report["tests"]
                  if t["visibility"] == "hidden" and t["message"] not in student_hint(t)} - shown
        for view, text in (("console", to_text(report)), ("html", html.unescape(to_html(report)))):
            if case.student_sees not in text:
                found[f"{case.name} ({view})"] = f"does not say {case.student_sees!r}"
            leaked = [m for m in hidden if len(m) > 20 and m in text]
            if leaked:
                found[f"{case.name} ({view})"] = f"quotes a hidden message: {leaked[0][:80]!r}"
    assert not found


def test_an_accuracy_is_recorded_whether_it_reaches_the_bar_or_not():
    measured = Measured()
    labels = np.array([0, 1, 2, 3])
    assert assert_accuracy(np.array([0, 1, 2, 0]), labels, 0.7, name="held-out digits", measured=measured) == 0.75
    with pytest.raises(CheckFailed):
        assert_accuracy(np.array([0, 1, 0, 0]), labels, 0.7, name="training digits", measured=measured)
    assert measured.values == {"accuracy of held-out digits": 0.75, "accuracy of training digits": 0.5}


@pytest.mark.parametrize("name, value, error", [
    ("", 0.5, ValueError), ("x" * 81, 0.5, ValueError), ("loss", "0.5", TypeError), ("loss", True, TypeError),
    ("loss", np.array([0.5]), TypeError)])
def test_a_measured_value_is_one_named_number(name, value, error):
    with pytest.raises(error):
        Measured().record(name, value)


def test_a_test_records_at_most_eight_values():
    measured = Measured()
    for i in range(8):
        measured.record(f"loss after epoch {i}", np.float32(i))
    measured.record("loss after epoch 0", 9)  # a name already there is overwritten, not added
    with pytest.raises(ValueError, match="at most 8"):
        measured.record("one too many", 1.0)


def _measured_report() -> dict:
    tests = [{"name": "public/t.py::test_train", "visibility": "visible", "max_score": 5, "status": "passed",
              "message": "", "duration": 1.0, "measured": {"accuracy of validation digits": 0.9717}},
             {"name": "hidden/t.py::test_held_out[12-7]", "visibility": "hidden", "max_score": 10,
              "status": "passed", "message": "", "duration": 1.0,
              "measured": {"accuracy of held-out digits": 0.9664, "final loss": float("nan")}},
             {"name": "hidden/t.py::test_shapes", "visibility": "hidden", "max_score": 1, "status": "passed",
              "message": "", "duration": 0.1}]
    return build_report(assignment={"id": "11-x", "title": "X", "sha256": "0" * 64},
                        submission={"name": "alice", "sha256": "0" * 64, "files": ["cnn.py"]},
                        outcome={"tests": tests, "output": {"text": "", "truncated": False}},
                        started=0.0, finished=1.0, fingerprint="0" * 64)


def test_the_report_keeps_what_a_test_measured_and_the_views_show_it():
    report = _measured_report()
    validate_report(report)
    assert report["tests"][1]["measured"] == {"accuracy of held-out digits": 0.9664, "final loss": None}
    assert "measured" not in report["tests"][2]
    student, instructor = to_text(report), to_text(report, show_hidden=True)
    assert "measured: accuracy of validation digits = 0.9717" in student
    # a hidden test's numbers are the student's own work: shown, under its name without the id
    case = "hidden/t.py::test_held_out (case 1 of 1)"
    assert f"  Measured in hidden tests:\n    {case}: accuracy of held-out digits = 0.9664\n" \
           f"    {case}: final loss = not finite\n" in student
    assert "[12-7]" not in student
    assert "measured: accuracy of held-out digits = 0.9664" in instructor
    page = to_html(report)
    assert '<p class="measured">measured: accuracy of held-out digits = 0.9664</p>' in page
    assert page.count('class="measured"') == 3


def test_a_report_with_more_than_eight_measured_values_is_refused():
    report = _measured_report()
    report["tests"][0]["measured"] = {f"v{i}": float(i) for i in range(9)}
    with pytest.raises(Exception, match="measured|maxProperties|more than 8"):
        validate_report(report)


ACCURACY_STEPS = [s for s in SPECS if s.id in ("03-logistic-regression", "04-softmax", "09-mnist-mlp",
                                                 "11-mnist-cnn", "16-pytorch")]


@pytest.mark.slow
@pytest.mark.parametrize("spec", ACCURACY_STEPS, ids=[s.id for s in ACCURACY_STEPS])
def test_the_reference_report_records_the_accuracy_it_reached(spec, local_example_reports):
    cases, reports = local_example_reports(spec)
    report = next(r for c, r in zip(cases, reports.values()) if c.name == "reference")
    if report["status"] == "skipped":
        pytest.skip(f"{spec.id}: {report['reason']}")  # e.g. no torch for 16 on this machine
    accuracies = {k: v for t in report["tests"] for k, v in t.get("measured", {}).items() if k.startswith("accuracy")}
    assert accuracies and all(0.8 <= v <= 1 for v in accuracies.values()), accuracies
