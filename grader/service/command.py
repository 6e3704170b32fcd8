"""`grader serve`: parse its arguments, set up JSON-lines logging and run the app under uvicorn.

Imported by `grader/cli.py` for every command, so it imports nothing heavy at module level (Starlette,
uvicorn and SQLAlchemy load only when the service starts). It never grades.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXAMPLES = """\
examples:
  # course.toml at the course root, secrets in the environment:
  export GRADER_WEBHOOK_SECRET=$(openssl rand -hex 32) GRADER_INSTRUCTOR_TOKEN=$(openssl rand -hex 24)
  grader --course /srv/course serve --port 8000
  # a forge delivers to https://grader.example.org/hooks/github; the gradebook is at /gradebook
  curl -H "Authorization: Bearer $GRADER_INSTRUCTOR_TOKEN" http://127.0.0.1:8000/gradebook.csv
  # another config file, the local sandbox, listening on every interface:
  grader --course . serve --config ci/course.toml --sandbox local --host 0.0.0.0
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add `grader serve` to the CLI's subcommands."""
    p = sub.add_parser("serve", help="run the instructor-side grading service (webhooks, queue, gradebook)",
                       description="Grade every push the forge reports, post a commit status, and serve "
                                   "feedback pages and the gradebook. Settings: course.toml (see README).",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="the settings file (default: COURSE/course.toml)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: "
                                                       "put a TLS reverse proxy in front)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default: 8000)")
    p.add_argument("--sandbox", choices=["auto", "local", "docker"],
                   help="where student code runs (default: course.toml's, else auto)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on a Dask cluster: tcp://HOST:8786 or local:N (default: $GRADER_CLUSTER, "
                        "else course.toml's `workers` threads on this machine)")
    p.set_defaults(run=run_serve)


class JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def run_serve(args: argparse.Namespace) -> int:
    import dataclasses

    import uvicorn

    from grader.pipeline.executors import open_executor
    from grader.sandbox import choose_sandbox
    from grader.service.app import create_app
    from grader.service.config import load_config

    course = args.course.resolve()
    config = load_config((args.config or course / "course.toml").resolve(), course=course)
    config = dataclasses.replace(config, sandbox=choose_sandbox(args.sandbox or config.sandbox))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # Access logs are off: a query string can carry a login token. Our own log lines carry what matters.
    with open_executor(args.cluster, log=sys.stderr) as executor:   # None: grade on this machine
        app = create_app(config, grade=executor.grade if executor else None)
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                    timeout_graceful_shutdown=10)
    return 0
