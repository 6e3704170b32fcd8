"""How `make test` splits the suite between its xdist workers (tests/conftest.py): by module, with
every module that shares the graded examples in one unit, so nothing expensive is made twice."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.conftest import COURSE, SHARED_EXAMPLES, pytest_xdist_make_scheduler


class _Config:
    """What the scheduler reads of pytest's config: the root, and xdist's options as `-n 2 --dist D` sets them."""

    def __init__(self, dist: str) -> None:
        self.rootpath = COURSE
        self.option = SimpleNamespace(dist=dist, tx=["2*popen"], loadscopereorder=True)

    def getvalue(self, name: str):
        return getattr(self.option, name)


def _scheduler():
    pytest.importorskip("xdist", reason="pytest-xdist is a test dependency: `make install`")
    return pytest_xdist_make_scheduler(_Config("loadscope"), None)


def _modules_using_shared_examples() -> list[str]:
    return sorted(str(path.relative_to(COURSE)) for path in (COURSE / "tests").rglob("test_*.py")
                  if SHARED_EXAMPLES in path.read_text())


def test_every_module_sharing_the_graded_examples_is_one_unit_of_work():
    modules = _modules_using_shared_examples()
    assert len(modules) >= 2, "the shared examples fixture has lost its users; the grouping is moot"
    scheduler = _scheduler()
    scopes = {scheduler._split_scope(f"{module}::test_x[05-backprop]") for module in modules}
    assert scopes == {SHARED_EXAMPLES}


def test_any_other_module_is_its_own_unit_classes_and_parameters_included():
    scheduler = _scheduler()
    other = "tests/test_jobdirs.py"
    assert SHARED_EXAMPLES not in (COURSE / other).read_text()
    assert scheduler._split_scope(f"{other}::test_a") == other
    assert scheduler._split_scope(f"{other}::Cls::test_b[x@y]") == other  # a class does not split it


def test_other_dist_modes_keep_xdists_own_scheduler():
    assert pytest_xdist_make_scheduler(_Config("load"), None) is None
