"""`grader new NN-slug`: a new curriculum step, copied from the course's `_template` folders.

It writes `assignments/NN-slug/`, `solutions/NN-slug/` and `examples/NN-slug/` with the placeholders
`{{slug}}`, `{{title}}` and `{{seed}}` filled in, and refuses to touch a step that already exists.
The result is a complete step (its reference scores full marks, its starter zero, its example mistake
its pinned score), so `grader validate NN-slug` passes before the author changes a line. It never
overwrites anything: a step that exists already is an error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from grader.errors import SpecError

TEMPLATE = "_template"
PARTS = ("assignments", "solutions", "examples")
SLUG = re.compile(r"^(\d{2})-[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_step(course: Path, slug: str, *, title: str | None = None) -> Path:
    """Create step `slug` in `course` from its `_template` folders; returns the assignment folder."""
    match = SLUG.match(slug)
    if not match:
        raise SpecError(f"{slug!r} is not a step name: use two digits, a dash and lower-case words, "
                        "e.g. 17-attention")
    sources = [course / part / TEMPLATE for part in PARTS]
    for source in sources:
        if not source.is_dir():
            raise SpecError(f"{source}: no template folder here (is --course the course root?)")
    targets = [course / part / slug for part in PARTS]
    for target in targets:
        if target.exists():
            raise SpecError(f"{target} exists already; `grader new` never overwrites a step")
    values = {"slug": slug, "title": title or _title(slug), "seed": str(100 + int(match.group(1)))}
    for source, target in zip(sources, targets):
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        _fill(target, values)
    return targets[0]


def _title(slug: str) -> str:
    return slug[3:].replace("-", " ").capitalize()


def _fill(folder: Path, values: dict[str, str]) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".toml", ".md"):
            text = path.read_text()
            for key, value in values.items():
                text = text.replace("{{" + key + "}}", value)
            path.write_text(text)


def register(sub) -> None:
    """`grader new`: the subcommand, registered by grader.cli."""
    p = sub.add_parser("new", help="start a new curriculum step from the course's _template folders",
                       epilog="examples:\n  grader new 17-attention --title \"Attention from scratch\"\n"
                              "  grader validate 17-attention   # the new step proves itself sound")
    p.add_argument("slug", help="the step's folder name: two digits, a dash, lower-case words")
    p.add_argument("--title", help="the step's title (default: from the slug)")
    p.set_defaults(run=_run)


def _run(args) -> int:
    folder = new_step(args.course, args.slug, title=args.title)
    print(f"created {folder}, solutions/{args.slug} and examples/{args.slug} from {TEMPLATE}; "
          f"prove it with `grader validate {args.slug}`, then make the step your own")
    return 0
