"""The one writer of report files: validate against the schema, strict JSON, atomic replace."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path

import jsonschema

from grader.report import SCHEMA_PATH


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_report(report: dict) -> None:
    """Raise `jsonschema.ValidationError` (naming the field) unless `report` matches the schema."""
    _validator().validate(report)


def dumps(report: dict) -> str:
    validate_report(report)
    return json.dumps(report, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_report(report: dict, path: Path) -> None:
    """Readers see the old file or the new one, never half of one."""
    text = dumps(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_report(path: Path) -> dict:
    report = json.loads(path.read_text(encoding="utf-8"))
    validate_report(report)
    return report
