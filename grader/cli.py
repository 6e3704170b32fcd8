"""The `grader` command: argument parsing and exit codes only; the work is in grader.pipeline.grade and friends.

Exit codes: 0 done (for `check`: every public test passed), 1 a check or an expectation failed,
2 bad usage or a broken assignment, 3 an infrastructure error (sandbox, engine, judge).

Rules kept here: a user's mistake (a typo, a missing file, `--out` on a file) is one line on stderr
and exit 2, found before anything is graded; a bug of ours is one line too (GRADER_DEBUG=1 shows its
traceback). Nothing heavy is imported at module level, so commands that grade nothing start in well
under 0.3 s of CPU (bench/startup.py). Without --course, the course is the nearest folder holding
assignments/ from the current one (or the submission) upwards. Other modules add their commands with
a one-line `register(sub)` in `_parser`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from grader import __version__
from grader.errors import GraderError, InfrastructureError

if TYPE_CHECKING:  # imported where used: `grader --version`, `list` and `show` must start fast
    from grader.spec import AssignmentSpec

OK, FAILED, USAGE, INFRA = 0, 1, 2, 3
DEBUG_ENV = "GRADER_DEBUG"  # set to 1 to see the traceback of an internal error
COURSE_MARKER = ".grader-course"  # grader.authoring.release.MARKER: the top of a handout (not imported: startup)


class Parser(argparse.ArgumentParser):
    """argparse with worked examples kept as written, and usage errors on one line (exit 2)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not _grades_here(argv):
        return _run(argv)
    # Start the judge before anything else, even the parser (20 ms): its imports then overlap the
    # grader's own work (finding the assignment, ingesting, choosing the sandbox); see
    # grader.judge.launch.Spares. One the command never used (a usage error) is discarded here.
    from grader.judge.launch import SPARES

    SPARES.plan(1)
    try:
        return _run(argv)
    finally:
        SPARES.discard()


def _run(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return USAGE
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        from grader.judge.launch import watch_for_ctrl_c

        watch_for_ctrl_c()
    try:
        args.course = _find_course(args)
        return args.run(args)
    except InfrastructureError as exc:
        print(f"grader: infrastructure error: {exc}", file=sys.stderr)
        return INFRA
    except GraderError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("grader: interrupted; reports written so far are complete", file=sys.stderr)
        return 130
    except OSError as exc:  # a path the user gave that cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"grader: {where}{exc.strerror or exc}", file=sys.stderr)
        return USAGE
    except Exception as exc:  # a bug of ours: one line, the traceback on request
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"grader: internal error ({type(exc).__name__}: {exc}); this is a bug in the grader: "
              f"rerun with {DEBUG_ENV}=1 for the traceback and report it", file=sys.stderr)
        return INFRA


def _find_course(args: argparse.Namespace) -> Path:
    """--course if given; else the nearest folder holding assignments/, from here or the submission up.

    So `grader check` works as printed inside a handout's step folder, without --course."""
    if args.course is not None:
        return args.course
    starts = [Path.cwd()]
    for name in ("path", "submissions"):
        value = getattr(args, name, None)
        starts += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, Path)]
    for start in starts:
        for folder in [start.resolve(), *start.resolve().parents]:
            if (folder / "assignments").is_dir() or (folder / COURSE_MARKER).is_file():
                return folder
    return Path(".")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _count(text: str) -> int:
    """A whole number, 0 or more."""
    return 0 if text.strip() == "0" else _positive(text)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="grader", description="Check and grade assignments of the deep-learning course.",
        epilog=_examples("grader list                                  # the assignments",
                         "grader check backprop                        # students: public tests on .",
                         "grader grade backprop subs/* --out reports/  # instructors: every test",
                         "grader COMMAND --help                        # more on one command")
        + "\n\nExit codes: 0 ok, 1 tests or expectations failed, 2 usage or assignment error, "
          "3 infrastructure error.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    parser.add_argument("--course", type=Path, default=None,
                        help="course root holding assignments/ (default: the nearest folder holding "
                             "assignments/, from the current one upwards)")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_student_commands(sub)
    _add_grading_commands(sub)
    _add_course_commands(sub)
    _add_report_commands(sub)
    _add_nbgrader_commands(sub)
    __import__("grader.interop.cli", fromlist=["register"]).register(sub)  # gradescope, prairielearn, similarity
    __import__("grader.service.command", fromlist=["register"]).register(sub)  # `grader serve`
    __import__("grader.pipeline.worker", fromlist=["register"]).register(sub)  # worker, --cluster
    __import__("grader.authoring.new", fromlist=["register"]).register(sub)  # `grader new`
    return parser


def _add_student_commands(sub) -> None:
    """`list` and `check`: what a student runs."""
    p = sub.add_parser("list", help="list assignments with titles and points", epilog=_examples(
        "grader list", "grader --course ~/course list"))
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("check", help="run the public tests on your work (for students)", epilog=_examples(
        "cd handout/assignments/05-backprop/starter && grader check   # the step of the folder you are in",
        "grader check backprop                  # your layers.py is in the current folder",
        "grader check backprop ~/hw5            # or in that folder (also .py, .zip, .ipynb)"))
    p.add_argument("assignment", nargs="?", help="assignment id or short name, e.g. 05-backprop or "
                   "backprop (default: the step whose folder you are in)")
    p.add_argument("path", nargs="?", type=Path, default=None,
                   help="your work: a folder, .py, .ipynb, .zip or .tar.gz (default: the current folder)")
    p.add_argument("--isolate", action="store_true",
                   help="jail the runner in namespaces as grading does (Linux, needs unshare)")
    p.set_defaults(run=cmd_check)



def _add_grading_commands(sub) -> None:
    """`grade` and `examples`: graded batches with reports."""
    p = sub.add_parser("grade", help="grade submissions with every test; one JSON report each", epilog=_examples(
        "grader grade backprop submissions/* --out reports/ -j 2",
        "grader grade backprop alice.zip bob.ipynb carol/ --out reports/ --sandbox local",
        "grader grade backprop https://git.example.org/alice/hw5.git#main --out reports/",
        "grader grade backprop submissions/* --out reports/ --force   # regrade current reports too"))
    p.add_argument("assignment", help="assignment id or short name, e.g. 05-backprop or backprop")
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                   help="a folder, a .py file, a .ipynb notebook, a .zip, .tar or .tar.gz archive, or a "
                        "git repository (URL or local path, URL#REF for a branch, tag or commit); the "
                        "report is named after it")
    p.add_argument("--out", type=Path, required=True, help="folder for the reports (DIR/<name>.json)")
    _sandbox_options(p)
    _warm_option(p)
    p.add_argument("--force", action="store_true", help="grade again even where a current report exists")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("examples", help="grade the bundled example submissions and print a score table",
                       epilog=_examples("grader examples backprop          # reference full, starter zero, "
                                        "mistakes between", "grader examples hostile           # the attack corpus",
                                        "grader examples -j 2 --out out/examples   # all of them (make grade)",
                                        "grader examples backprop --only 'no-bias-*'  # the example you are writing"))
    p.add_argument("assignments", nargs="*",
                   help="only these; `hostile` for the attack corpus (default: all of them)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="only the examples named so (shell-style patterns; repeat for more): `reference`, "
                        "`starter` or a mistake's folder name")
    p.add_argument("--out", type=Path, default=Path("out/examples"),
                   help="folder for the reports (default: out/examples)")
    _sandbox_options(p)
    _warm_option(p)
    p.add_argument("--force", action="store_true", help="grade again even where a current report exists")
    p.set_defaults(run=cmd_examples)


def _add_course_commands(sub) -> None:
    """`release`, `validate`, `doctor` and `show`: the course's own tools."""
    p = sub.add_parser("release", help="write the student handout: starter, public tests, README, wheel",
                       epilog=_examples("grader release backprop --out handout",
                                        "grader release linear-regression backprop --out ~/handout"))
    p.add_argument("assignments", nargs="+", metavar="ASSIGNMENT", help="assignment ids or short names")
    p.add_argument("--out", type=Path, required=True,
                   help="the handout folder (created; a step already in it is an error)")
    p.add_argument("--no-wheel", action="store_true",
                   help="leave out the grader's student wheel (students install it another way)")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("validate", help="prove assignments are sound: spec, points, signatures, and "
                       "reference full, starter zero, examples at their pinned scores",
                       epilog=_examples("grader validate", "grader validate backprop softmax",
                                        "grader validate --structure-only   # no grading: seconds"))
    p.add_argument("assignments", nargs="*", help="only these (default: every assignment)")
    p.add_argument("--structure-only", action="store_true",
                   help="check spec, points and signatures without grading the reference and examples")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("doctor", help="what this machine offers the docker sandbox: engine, image, GPUs",
                       epilog=_examples("grader doctor", "grader doctor --json | jq .problems"))
    p.add_argument("--json", action="store_true", help="the facts as JSON")
    p.set_defaults(run=cmd_doctor)

    p = sub.add_parser("show", help="print a report as text", epilog=_examples(
        "grader show reports/alice.json            # what the student may see",
        "grader show reports/alice.json --hidden   # hidden tests included (instructors)"))
    p.add_argument("report", type=Path, help="a JSON report written by `grader grade`")
    p.add_argument("--hidden", action="store_true", help="include hidden tests (instructors)")
    p.set_defaults(run=cmd_show)


def _sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", choices=["auto", "local", "docker"], default="auto",
                   help="where student code runs: docker, the jailed local subprocess, or auto "
                        "(docker wherever an engine answers; the default)")
    p.add_argument("-j", "--jobs", type=_positive, default=1, metavar="N",
                   help="grade N submissions at once (default: 1)")


def _warm_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warm", type=_count, default=None, metavar="N",
                   help="docker: keep N runner containers started ahead of need, each used once "
                        "(default: as many as --jobs while they leave a core free, else none; 0: start "
                        "each when it is needed)")


def _announce(sandbox: str) -> str:
    print(f"grader: student code runs in the {sandbox} sandbox", file=sys.stderr)
    return sandbox


def _specs(args: argparse.Namespace, names: list[str]) -> list[AssignmentSpec]:
    from grader.spec import find_assignment, find_assignments

    if names:
        return [find_assignment(args.course, n) for n in names]
    return find_assignments(args.course)


def _choose_sandbox(wanted: str) -> str:
    """`auto` is local where the docker SDK is not installed (the student install leaves it out)."""
    import importlib.util

    if importlib.util.find_spec("docker") is None:
        if wanted == "docker":
            _require("docker", "--sandbox docker")
        return "local"
    from grader.sandbox import choose_sandbox

    return choose_sandbox(wanted)


def _out_folder(path: Path) -> Path:
    """--out must be a folder or not exist yet: a file there is the user's mistake, said plainly."""
    if path.exists() and not path.is_dir():
        raise GraderError(f"--out {path}: is a file, not a folder; give a folder for the reports")
    return path


def _sources(paths: list[Path]) -> list[Path]:
    """Submissions that exist (or are git URLs); a typo is a usage error before anything runs."""
    from grader.ingest.git import is_git_source, split_ref

    missing = [p for p in paths if not is_git_source(p) and not Path(split_ref(p)[0]).exists()]
    if missing:
        raise GraderError(f"no such submission: {missing[0]} (give a folder, .py, .ipynb, .zip, .tar, "
                          ".tar.gz or git URL that exists)")
    return [p.resolve() for p in paths]


def _read_report(path: Path) -> dict:
    """The report at `path`; a missing file or one that is not a report is a one-line usage error."""
    import json

    from grader.report.write import validate_report

    if not path.is_file():
        raise GraderError(f"{path}: no such report file; give a JSON file written by `grader grade`")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        validate_report(report)
    except (UnicodeDecodeError, ValueError) as exc:
        raise GraderError(f"{path}: not a grader report ({str(exc).splitlines()[0][:160]}); give a JSON "
                          "file written by `grader grade`") from None
    except Exception as exc:  # jsonschema's ValidationError: the file is JSON but not our report
        raise GraderError(f"{path}: not a grader report ({str(exc).splitlines()[0][:160]}); give a JSON "
                          "file written by `grader grade`") from None
    return report


def cmd_list(args: argparse.Namespace) -> int:
    from grader.spec import find_assignments

    specs = find_assignments(args.course)
    width = max((len(s.id) for s in specs), default=10)
    for spec in specs:
        gpu = {True: "  (GPU)", "optional": "  (GPU if present)"}.get(spec.gpu, "")
        print(f"{spec.id:<{width}}  {spec.points:>5g} pts  {spec.title}{gpu}")
    return OK


def cmd_check(args: argparse.Namespace) -> int:
    from grader.pipeline.grade import grade
    from grader.report.views.console import to_text

    from grader.pipeline.progress import TestWatcher

    spec, path = _check_target(args)
    if (problem := _syntax_error(path)) is not None:
        print(problem, end="")
        return FAILED
    print(f"grader: checking {path} against {spec.id}'s public tests...", file=sys.stderr, flush=True)
    with TestWatcher(sys.stderr):
        report = grade(spec, path, isolate=args.isolate, visibility="public", name=path.name)
    print(to_text(report, color=sys.stdout.isatty()), end="")
    if report["status"] in ("infra_error", "skipped"):
        return INFRA
    return OK if report["score"] == report["max_score"] and report["status"] == "graded" else FAILED


def _grades_here(argv: list[str]) -> bool:
    """Whether `argv` asks this process to grade (`grade` without --cluster, or `check`), read before
    the parser is built: the global options come before the command."""
    words = iter(argv)
    for word in words:
        if word == "--course":
            next(words, None)
        elif not word.startswith("-"):
            return word == "check" or (word == "grade" and "--cluster" not in argv)
    return False


def _check_target(args: argparse.Namespace) -> tuple[AssignmentSpec, Path]:
    """(assignment, work) for `check`: both may be left out inside a step's folder of a handout."""
    from grader.spec import find_assignment

    name, path = args.assignment, args.path
    if path is None and name is not None and ("/" in name or name in (".", "..") or
                                              name.endswith((".py", ".ipynb", ".zip", ".tar", ".gz"))):
        name, path = None, Path(name)  # `grader check ~/hw5`: a path, not an assignment's name
    path = (path or Path(".")).resolve()
    if not path.exists():
        raise GraderError(f"no such file or folder: {path} (give your work's folder, .py, .ipynb or archive)")
    if name is None:
        name = _step_of(path, args.course)
    spec = find_assignment(args.course, name)
    if args.path is None and path.is_dir() and not any((path / f).exists() for f in spec.files) \
            and not any(path.glob("*.ipynb")):
        raise GraderError(f"no {' or '.join(spec.files)} in {path}: run `grader check` in the folder that "
                          f"holds your work (e.g. {spec.root / 'starter'}) or name it: "
                          f"`grader check {spec.short} PATH`")
    return spec, path


def _syntax_error(path: Path) -> str | None:
    """The first syntax error in the student's .py files, once, with its line and a caret; or None.

    Only parsed (never run): otherwise every test would report the same failed import."""
    import ast

    files = [path] if path.suffix == ".py" else sorted(path.glob("*.py")) if path.is_dir() else []
    for file in files:
        try:
            source = file.read_text(encoding="utf-8", errors="replace")
            ast.parse(source, filename=file.name)
        except SyntaxError as exc:
            line = (exc.text or "").rstrip("\n")
            caret = " " * max((exc.offset or 1) - 1, 0)
            where = f"{file.name}, line {exc.lineno}"
            return (f"SyntaxError in {where}: {exc.msg}\n    {line}\n    {caret}^\n"
                    "Fix it and run `grader check` again: no test can run until the file parses.\n")
        except (ValueError, RecursionError, MemoryError, OSError):
            return None  # the grader's own import reports what is wrong with such a file
    return None


def _step_of(path: Path, course: Path) -> str:
    """The assignment whose folder holds `path` (assignments/<id>/...), or a usage error."""
    steps = course.resolve() / "assignments"
    for folder in [path, *path.parents]:
        if folder.parent == steps:
            return folder.name
    raise GraderError(f"which assignment? {path} is not inside {steps}/<step>/; name it, "
                      "e.g. `grader check backprop` (`grader list` shows them)")


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.pipeline.batch import grade_batch
    from grader.pipeline.executors import open_executor
    from grader.spec import find_assignment

    spec = find_assignment(args.course, args.assignment)
    sources = _sources(args.submissions)
    out = _out_folder(args.out)
    args.sandbox = _announce(_choose_sandbox(args.sandbox))
    with open_executor(args.cluster, log=sys.stderr) as executor:  # None: -j threads here
        reports = grade_batch(spec, sources, out, sandbox=args.sandbox, jobs=args.jobs, force=args.force,
                              executor=executor, warm=args.warm)
    _print_table([(spec.id, name, r, "") for name, r in reports.items()])
    return INFRA if any(r["status"] == "infra_error" for r in reports.values()) else OK


def cmd_examples(args: argparse.Namespace) -> int:
    from grader.pipeline.batch import grade_batch
    from grader.authoring.examples import problems

    from grader.pipeline.executors import open_executor
    from grader.pipeline.progress import make_progress

    rows, bad, infra = [], 0, False
    _out_folder(args.out)
    groups = _example_groups(args)
    args.sandbox = _announce(_choose_sandbox(args.sandbox))
    with make_progress(sys.stderr, label="examples") as progress, \
            open_executor(args.cluster, log=sys.stderr) as executor:
        progress.begin(sum(len(cases) for _, cases, _ in groups))
        graded = [(spec, cases, out, grade_batch(spec, [c.path for c in cases], out, sandbox=args.sandbox,
                                                 jobs=args.jobs, force=args.force, progress=progress,
                                                 executor=executor, warm=args.warm,
                                                 names=[c.name for c in cases]))
                  for spec, cases, out in groups]
    for spec, cases, out, reports in graded:
        for report, case in zip(reports.values(), cases, strict=True):
            found = problems(case, report)
            bad += bool(found)
            infra |= report["status"] == "infra_error"
            note = "; ".join(found) or (report["reason"] if report["status"] == "skipped" else "ok")
            rows.append((spec.id if out.parent.name != "hostile" else "hostile", case.name, report, note))
    _print_table(rows, expectation=True)
    reused = f" ({progress.cached} reports reused: current)" if progress.cached else ""
    print(f"\n{len(rows)} submissions graded{reused}, {bad} not as expected; reports in {args.out}/")
    return INFRA if infra else (FAILED if bad else OK)


def _example_groups(args: argparse.Namespace) -> list[tuple[AssignmentSpec, list, Path]]:
    """(assignment, cases, report folder) for the chosen assignments, and `hostile` for the attacks."""
    from grader.authoring.examples import cases_for, hostile_cases
    from grader.spec import find_assignment

    names = [n for n in args.assignments if n != "hostile"]
    groups = [] if args.assignments and not names else \
        [(spec, cases_for(spec), args.out / spec.id) for spec in _specs(args, names)]
    if not args.assignments or "hostile" in args.assignments:
        by_target: dict[str, list] = {}
        for case in hostile_cases(args.course):
            by_target.setdefault(case.assignment, []).append(case)
        for target, cases in by_target.items():
            groups.append((find_assignment(args.course, target), cases, args.out / "hostile" / target))
    return _only(groups, args.only) if args.only else groups


def _only(groups: list[tuple[AssignmentSpec, list, Path]], patterns: list[str]) -> list[tuple]:
    """The groups cut to the cases `patterns` name; naming none at all is a usage error."""
    import fnmatch

    kept = [(spec, [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)], out)
            for spec, cases, out in groups]
    kept = [group for group in kept if group[1]]
    if not kept:
        known = sorted({c.name for _, cases, _ in groups for c in cases})
        raise GraderError(f"--only {' '.join(patterns)}: no example of the chosen assignments is named so "
                          f"(they are: {', '.join(known)})")
    return kept


def _print_table(rows: list[tuple[str, str, dict, str]], expectation: bool = False) -> None:
    first = max([len("assignment")] + [len(row[0]) for row in rows])
    second = max([len("submission")] + [len(row[1]) for row in rows])
    header = f"{'assignment':<{first}}  {'submission':<{second}}  {'score':>11}  {'status':<18}"
    print(header + ("  as expected?" if expectation else ""))
    for assignment, name, report, note in rows:
        score = "-" if report["score"] is None else f"{report['score']:g}/{report['max_score']:g}"
        line = f"{assignment:<{first}}  {name:<{second}}  {score:>11}  {report['status']:<18}"
        print(line + (f"  {note}" if expectation else ""))


def cmd_release(args: argparse.Namespace) -> int:
    from grader.authoring.release import release, student_wheel, write_handout_readme

    specs = _specs(args, args.assignments)
    out = _out_folder(args.out)
    for spec in specs:
        print(f"released {spec.id} to {release(spec, out)}")
    wheel = None if args.no_wheel else student_wheel(out / "wheels")
    readme = write_handout_readme(out, specs, wheel)
    print(f"students start with {readme}; `grader check` in a step's starter/ folder needs no --course")
    return OK


def cmd_validate(args: argparse.Namespace) -> int:
    from grader.authoring.validate import prove, validate

    failed = 0
    for spec in _specs(args, args.assignments):
        found = validate(spec) if args.structure_only else prove(spec)
        failed += bool(found)
        print(f"{spec.id}: " + ("ok" if not found else "\n  ".join(["PROBLEMS", *found])))
    return FAILED if failed else OK


def cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from grader.sandbox.image import doctor, doctor_lines

    facts = doctor()
    if facts["engine"]:
        from grader.sandbox import shelf
        from grader.sandbox.image import connect

        facts["shelf"] = shelf.facts(connect())
    if args.json:
        print(json.dumps(facts, indent=2))
        return INFRA if facts["problems"] else OK
    engine, image = facts["engine"], facts["image"]
    if engine:
        print(f"engine   Docker {engine['version']} (API {engine['api_version']}), {engine['os']}, "
              f"cgroup v{engine['cgroup_version']}, runtimes: {', '.join(engine['runtimes'])}")
    if image:
        state = f"present, {image['size_mb']} MB" if image["present"] else "missing (`make image` builds it)"
        print(f"image    {image['tag']}: {state}; base {image['base']}"
              f"{'' if image['base_present'] else ' (missing)'}")
    for line in doctor_lines(facts):  # the torch and CUDA images, the driver's CUDA
        print(line)
    print(f"gpus     {', '.join(g['index'] + ': ' + g['name'] for g in facts['gpus']) or 'none'}; "
          f"nvidia runtime: {'yes' if facts['nvidia_runtime'] else 'no'}")
    for problem in facts["problems"]:
        print(f"problem  {problem}")
    return INFRA if facts["problems"] else OK


def cmd_show(args: argparse.Namespace) -> int:
    from grader.report.views.console import to_text

    print(to_text(_read_report(args.report), show_hidden=args.hidden), end="")
    return OK


def _add_report_commands(sub: argparse._SubParsersAction) -> None:
    """`grader report convert|gradebook`: views of reports (grader.report.views), written to a file."""
    report = sub.add_parser("report", help="turn reports into Gradescope, JUnit, HTML or a CSV gradebook",
                            epilog=_examples("grader report convert reports/alice.json --to html --out alice.html",
                                             "grader report gradebook reports/ --out grades.csv"))
    views = report.add_subparsers(title="report commands", metavar="COMMAND")
    p = views.add_parser("convert", help="one report as another format", epilog=_examples(
        "grader report convert reports/alice.json --to gradescope > results.json",
        "grader report convert reports/alice.json --to junit --out alice.xml",
        "grader report convert reports/alice.json --to html --hidden --out alice.html   # instructor's copy"))
    p.add_argument("report", type=Path, help="a JSON report written by `grader grade`")
    p.add_argument("--to", required=True, choices=["gradescope", "junit", "html"],
                   help="the format: Gradescope's results.json, JUnit XML or a feedback page")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p.add_argument("--hidden", action="store_true",
                   help="the instructor's copy: hidden tests' messages and what the code printed")
    p.add_argument("--overrides", type=Path, help="instructor's overrides CSV: shown in the --hidden HTML")
    p.set_defaults(run=_cmd_report_convert)
    p = views.add_parser("gradebook", help="reports of a batch as a CSV gradebook", epilog=_examples(
        "grader report gradebook reports/ --out grades.csv",
        "grader report gradebook reports/*/*.json --out grades.csv   # several assignments, one row each"))
    p.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="reports or folders of them")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    __import__("grader.interop.lms", fromlist=["gradebook_options"]).gradebook_options(p)  # --to, --overrides
    p.set_defaults(run=_cmd_report_gradebook)
    report.set_defaults(run=lambda args: report.print_help() or USAGE)


def _cmd_report_convert(args: argparse.Namespace) -> int:
    import json

    report = _read_report(args.report)
    if args.to == "gradescope":
        from grader.report.views.gradescope import to_gradescope

        text = json.dumps(to_gradescope(report), indent=2, allow_nan=False) + "\n"
    elif args.to == "junit":
        from grader.report.views.junit import to_junit

        text = to_junit(report, show_hidden=args.hidden)
    else:
        from grader.interop.lms import override_for
        from grader.report.views.html import to_html

        text = to_html(report, show_hidden=args.hidden, override=override_for(report, args.overrides))
    _emit(text, args.out)
    return OK


def _cmd_report_gradebook(args: argparse.Namespace) -> int:
    from grader.interop.lms import gradebook_text

    reports = [_read_report(f) for f in _report_files(args.reports)]
    deadlines = None
    if args.deadlines is not None:  # course.toml, read with the grading service's parser
        from grader.service.gradebook import course_deadlines

        deadlines = course_deadlines(args.deadlines, args.course)
    _emit(gradebook_text(reports, args, deadlines), args.out)
    print(f"{len(reports)} reports -> {args.out}", file=sys.stderr)
    return OK


def _add_nbgrader_commands(sub: argparse._SubParsersAction) -> None:
    """`grader nbgrader grade|export`: notebooks written for nbgrader, and grades for its formgrader."""
    group = sub.add_parser("nbgrader", help="grade nbgrader-format notebooks; export to an nbgrader gradebook",
                           epilog=_examples("grader nbgrader grade source/ps1/problem1.ipynb "
                                            "submitted/*/ps1/problem1.ipynb --out reports/",
                                            "grader nbgrader export reports/ --db sqlite:///gradebook.db "
                                            "--assignment ps1"))
    commands = group.add_subparsers(title="nbgrader commands", metavar="COMMAND")
    p = commands.add_parser("grade", help="grade student notebooks against the instructor's nbgrader "
                                          "source notebook (nbgrader's rules, our sandbox and report)",
                            epilog=_examples("grader nbgrader grade source/ps1/problem1.ipynb "
                                             "submitted/*/ps1/problem1.ipynb --out reports/ -j 2",
                                             "grader nbgrader grade problem1.ipynb alice.ipynb --out reports/ "
                                             "--sandbox local --force"))
    p.add_argument("source", type=Path, help="the instructor's notebook with nbgrader cell metadata")
    p.add_argument("submissions", nargs="+", type=Path, metavar="NOTEBOOK",
                   help="students' notebooks; in nbgrader's layout submitted/<student>/<assignment>/"
                        "<notebook>.ipynb the report is named after the student")
    p.add_argument("--out", type=Path, required=True, help="folder for the reports (DIR/<name>.json)")
    _sandbox_options(p)
    p.add_argument("--force", action="store_true",
                   help="grade again even where a report newer than both notebooks exists")
    p.add_argument("--cell-timeout", type=float, default=30, metavar="SECONDS",
                   help="interrupt a cell running longer, as nbgrader's Execute.timeout (default 30)")
    p.add_argument("--add-missing-cells", action="store_true",
                   help="put deleted grade cells back and run them, as nbgrader's "
                        "OverwriteCells.add_missing_cells (default: a deleted grade cell scores 0)")
    p.set_defaults(run=_cmd_nbgrader_grade)
    p = commands.add_parser("export", help="add reports to an nbgrader gradebook for manual grading",
                            epilog=_examples("grader nbgrader export reports/ --db sqlite:///gradebook.db "
                                             "--assignment ps1"))
    p.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="reports or folders of them")
    p.add_argument("--db", required=True, help="the gradebook, e.g. sqlite:///gradebook.db")
    p.add_argument("--assignment", required=True, help="the assignment's name in the gradebook")
    p.add_argument("--nbgrader-course", type=Path, default=None, metavar="DIR",
                   help="the nbgrader course folder (source/, submitted/, autograded/); default: the "
                        "folder of a SQLite --db. Cells come from source/, and formgrader's "
                        "autograded/<student>/<assignment>/<notebook>.ipynb are written from submitted/")
    p.set_defaults(run=_cmd_nbgrader_export)
    group.set_defaults(run=lambda args: group.print_help() or USAGE)


def _cmd_nbgrader_grade(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from grader.pipeline.batch import plan
    from grader.pipeline.progress import describe, make_progress

    if not args.source.is_file():
        raise GraderError(f"{args.source}: no such notebook; give the instructor's source .ipynb")
    sources = _sources(args.submissions)
    out = _out_folder(args.out)
    sandbox = _announce(_choose_sandbox(args.sandbox))
    _require("nbgrader", "`grader nbgrader grade`")
    from grader.interop.nbgrader.compat import grade_notebook, notebook_title
    jobs = plan(sources, _nbgrader_names(args.source, sources))
    title = notebook_title(args.source.stem, {"cell_seconds": args.cell_timeout,
                                              "add_missing_cells": args.add_missing_cells})

    def one(name: str, notebook: Path) -> tuple[str, dict]:
        target = out / f"{name}.json"
        progress.started(name)
        report = None if args.force else _current_notebook_report(target, notebook, args.source, title)
        cached = report is not None
        if report is None:
            from grader.report.write import write_report

            report = grade_notebook(args.source, notebook, name=name, sandbox=sandbox,
                                    cell_seconds=args.cell_timeout, add_missing_cells=args.add_missing_cells)
            write_report(report, target)
        progress.finished(name, describe(report), cached=cached)
        return name, report

    with make_progress(sys.stderr, label=f"nbgrader {args.source.stem}") as progress:
        progress.begin(len(jobs))
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            graded = dict(pool.map(lambda item: one(*item), jobs.items()))
    rows = [(args.source.stem, name, graded[name], "") for name in jobs]
    _print_table(rows)
    return INFRA if any(r["status"] == "infra_error" for _, _, r, _ in rows) else OK


def _nbgrader_names(source: Path, submissions: list[Path]) -> list[str]:
    """Report names: nbgrader's layout names the student by folder
    (submitted/<student>/<assignment>/<notebook>.ipynb); other notebooks by their own name."""
    from grader.ingest.workspace import submission_name

    return [s.parts[-3] if s.stem == source.stem and len(s.parts) > 3 else submission_name(s)
            for s in submissions]


def _require(module: str, command: str) -> None:
    """A usage error naming the missing package, where the student install leaves it out."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise GraderError(f"{command} needs the {module} package, which this install lacks: "
                          f"pip install {module} (or install the grader with `make install`)")


def _current_notebook_report(target: Path, notebook: Path, source: Path, title: str) -> dict | None:
    """The report at `target` when it is newer than both notebooks, from this grader version and
    graded under the same nbgrader settings (its assignment `title` says which)."""
    try:
        if target.stat().st_mtime <= max(notebook.stat().st_mtime, source.stat().st_mtime):
            return None
        report = _read_report(target)
    except (OSError, GraderError):
        return None
    if report.get("grader_version") != __version__ or report["status"] in ("infra_error", "skipped"):
        return None
    return report if report.get("assignment", {}).get("title") == title else None


def _cmd_nbgrader_export(args: argparse.Namespace) -> int:
    files = _report_files(args.reports)
    reports = [_read_report(f) for f in files]
    _require("nbgrader", "`grader nbgrader export`")
    from grader.interop.nbgrader.gradebook import export

    summary = export(reports, args.db, args.assignment, course=args.nbgrader_course)
    print(f"{summary.reports} of {len(files)} reports added to {args.db} as {args.assignment} "
          "(reports with an infra_error have no score to add); "
          f"{len(summary.notebooks)} autograded notebooks written for formgrader", file=sys.stderr)
    for why in summary.not_written:
        print(f"  not written: {why}", file=sys.stderr)
    return OK


def _report_files(paths: list[Path]) -> list[Path]:
    """Report files named directly, and every *.json under folders named."""
    return [f for path in paths for f in (sorted(path.rglob("*.json")) if path.is_dir() else [path])]


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    if out.is_dir():
        raise GraderError(f"--out {out}: is a folder; give a file name, e.g. {out / 'out.txt'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
