"""assignment.toml loading: every assignment loads; mistakes are named."""

import pytest

from grader.errors import SpecError
from grader.spec import find_assignment, find_assignments, load_spec


def write(tmp_path, text, name="05-demo"):
    root = tmp_path / "assignments" / name
    root.mkdir(parents=True)
    (root / "assignment.toml").write_text(text)
    return root


GOOD = '''
title = "Demo"
points = 3
[files]
required = ["m.py"]
[api]
"m.py" = ["f"]
[limits]
call_seconds = 2
[runtime]
seed = 4
'''


def test_gpu_is_true_false_or_optional(tmp_path):
    assert load_spec(write(tmp_path, GOOD.replace("seed = 4", 'seed = 4\ngpu = "optional"'))).gpu == "optional"
    assert load_spec(write(tmp_path, GOOD.replace("seed = 4", "seed = 4\ngpu = true"), "06-b")).gpu is True
    with pytest.raises(SpecError, match='`gpu` must be true, false or "optional"'):
        load_spec(write(tmp_path, GOOD.replace("seed = 4", 'seed = 4\ngpu = "yes"'), "07-c"))


def test_an_api_function_may_not_be_called_lazy(tmp_path):
    with pytest.raises(SpecError, match=r"names 'lazy', which tests reach as `submission.lazy`"):
        load_spec(write(tmp_path, GOOD.replace('"m.py" = ["f"]', '"m.py" = ["f", "lazy"]')))


def test_every_course_assignment_loads(course):
    specs = find_assignments(course)
    assert specs and all(spec.points > 0 for spec in specs)


def test_a_good_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert (spec.title, spec.points, spec.files, spec.api, spec.seed) == ("Demo", 3, ("m.py",), {"m.py": ["f"]}, 4)
    assert spec.limits.call_seconds == 2.0 and spec.limits.memory_mb == 1024
    assert spec.short == "demo"


@pytest.mark.parametrize("text,message", [
    (GOOD.replace("[limits]", "[limts]"), "unknown key `limts` (did you mean `limits`?)"),
    (GOOD.replace("call_seconds = 2", "call_second = 2"), "did you mean `call_seconds`"),
    (GOOD.replace("points = 3", 'points = "3"'), "`points` has the wrong type"),
    (GOOD.replace('title = "Demo"', ""), "`title` is required"),
    (GOOD.replace('"m.py" = ["f"]', '"n.py" = ["f"]'), "[api] names 'n.py'"),
    (GOOD.replace("call_seconds = 2", "call_seconds = -1"), "must be a positive number"),
    ("title = [", "not valid TOML"),
])
def test_mistakes_are_named(tmp_path, text, message):
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    assert message in str(info.value) and "assignment.toml" in str(info.value)


def test_folder_name_must_be_numbered(tmp_path):
    with pytest.raises(SpecError, match="NN-slug"):
        load_spec(write(tmp_path, GOOD, name="demo"))


def test_find_by_short_name_and_suggestion(course):
    assert find_assignment(course, "backprop").id == "05-backprop"
    with pytest.raises(SpecError, match="did you mean"):
        find_assignment(course, "backprob")
