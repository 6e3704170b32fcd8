"""The one writer of report files: validate against the schema, strict JSON, atomic replace.

A report that fails the schema is never written, and a half-written file is never left in place."""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
from pathlib import Path

from typing import Any, Callable

from grader.report import SCHEMA_PATH


@functools.cache
def _validator() -> Any:
    """jsonschema's validator: exact, and its error names the field; imported only to explain."""
    import jsonschema  # 1 s of CPU at import (its format checker's grammar): only when a report is bad

    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.cache
def _fast_check() -> Callable[[dict], Any]:
    """The same schema compiled to Python by fastjsonschema (20 ms): the check every report passes."""
    import fastjsonschema

    return fastjsonschema.compile(json.loads(SCHEMA_PATH.read_text()))


def prepare_in_background() -> None:
    """Compile the schema check in a thread, so that a batch's first report does not wait for it
    (the grader is idle while its first judge runs)."""
    threading.Thread(target=_fast_check, name="report-schema", daemon=True).start()


def validate_report(report: dict) -> None:
    """Raise `jsonschema.ValidationError` (naming the field) unless `report` matches the schema.

    The compiled check runs first; only a report it rejects pays for jsonschema, which must then
    agree (either validator refusing is a refusal)."""
    import fastjsonschema

    try:
        _fast_check()(report)
    except fastjsonschema.JsonSchemaException as exc:
        _validator().validate(report)
        raise ValueError(f"report does not match {SCHEMA_PATH.name}: {exc.message}") from None


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
