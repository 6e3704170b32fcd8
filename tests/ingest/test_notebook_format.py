"""grader.ingest.notebook_format: a notebook's ingest loads nbformat without jsonschema's IRI grammar, and
nbformat still refuses a broken notebook."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import COURSE

PROBE = """
import sys
from grader.ingest import notebook  # the ingest of every notebook submission
nbformat = notebook.nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nbformat.validate(nb)
bad = {**nb, "cells": [{"cell_type": "code"}]}
try:
    nbformat.validate(bad)
except nbformat.ValidationError:
    refused = True
else:
    refused = False
grammar = sys.modules.get("rfc3987_syntax")
print(refused, grammar is not None)
"""


def test_notebooks_are_validated_without_building_the_iri_grammar():
    """The grammar (0.65 s of the import's 0.75 s) is never built; a broken notebook is still refused."""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=COURSE, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["True", "False"], done.stdout + done.stderr
