"""The report: one schema (report.schema.json), one builder (build.py), one writer (write.py).

Every other format (console text, Gradescope, JUnit, CSV, HTML) is a view computed from a report;
nothing in this package grades or runs code.
"""

from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
SCHEMA_VERSION = 1
