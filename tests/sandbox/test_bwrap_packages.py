"""What of the grader's site-packages the local jail binds: found quickly, and the same as a full scan."""

import importlib.metadata
from pathlib import Path

import pytest

from grader.sandbox import bwrap


def scanned(module: str) -> list[str]:
    return importlib.metadata.packages_distributions().get(module, [])


@pytest.mark.parametrize("module", ["numpy", "_pytest", "jsonschema", "yaml", "no_such_module_here"])
def test_a_modules_distributions_are_those_a_full_scan_finds(module):
    assert sorted(map(bwrap._normal, bwrap._distributions_of(module))) == \
        sorted(map(bwrap._normal, scanned(module)))


def test_record_is_read_as_the_distributions_own_file_list():
    for dist in importlib.metadata.distributions():
        if dist.files is not None:
            assert bwrap._first_parts(dist) == {Path(f).parts[0] for f in dist.files if Path(f).parts}, \
                dist.metadata["Name"]


def test_numpy_is_bound_with_its_libraries_and_metadata():
    names = {path.name for path in bwrap.package_paths(("numpy",))}
    assert "numpy" in names and any(name.startswith("numpy-") and name.endswith(".dist-info") for name in names)
