"""The `grader` command: argument parsing and exit codes only; the work is in grader.api and friends.

Exit codes: 0 done (for `check`: every public test passed), 1 a check or an expectation failed,
2 bad usage or a broken assignment, 3 an infrastructure error (sandbox, engine, judge).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from grader import __version__, api
from grader.errors import GraderError, InfrastructureError, SpecError, SubmissionError
from grader.sandbox import choose_sandbox
from grader.spec import AssignmentSpec, find_assignment, find_assignments

OK, FAILED, USAGE, INFRA = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return USAGE
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        api.watch_for_ctrl_c()
    try:
        return args.run(args)
    except InfrastructureError as exc:
        print(f"grader: infrastructure error: {exc}", file=sys.stderr)
        return INFRA
    except (SpecError, SubmissionError, GraderError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("grader: interrupted; reports written so far are complete", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description="Check and grade assignments of the deep-learning course.",
        epilog="Exit codes: 0 ok, 1 tests or expectations failed, 2 usage or assignment error, "
               "3 infrastructure error.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="course root holding assignments/ (default: the current directory)")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("list", help="list assignments with titles and points")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("check", help="run the public tests on your work (for students)")
    p.add_argument("assignment", help="assignment id or short name, e.g. 05-backprop or backprop")
    p.add_argument("path", nargs="?", type=Path, default=Path("."),
                   help="your submission: a folder, .py, .zip or .tar.gz (default: .)")
    p.add_argument("--isolate", action="store_true",
                   help="jail the runner in namespaces as grading does (Linux, needs unshare)")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("grade", help="grade submissions with every test; one JSON report each")
    p.add_argument("assignment")
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION")
    p.add_argument("--out", type=Path, required=True, help="folder for the reports (DIR/<name>.json)")
    _sandbox_options(p)
    p.add_argument("--force", action="store_true", help="grade again even where a current report exists")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("examples", help="grade the bundled example submissions and print a score table")
    p.add_argument("assignments", nargs="*",
                   help="only these; `hostile` for the attack corpus (default: all of them)")
    p.add_argument("--out", type=Path, default=Path("out/examples"), help="folder for the reports")
    _sandbox_options(p)
    p.add_argument("--force", action="store_true")
    p.set_defaults(run=cmd_examples)

    p = sub.add_parser("release", help="write the student bundle: starter, public tests, README")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("validate", help="prove assignments are sound: spec, points, signatures")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("doctor", help="what this machine offers the docker sandbox: engine, image, GPUs")
    p.add_argument("--json", action="store_true", help="the facts as JSON")
    p.set_defaults(run=cmd_doctor)

    p = sub.add_parser("show", help="print a report as text")
    p.add_argument("report", type=Path)
    p.add_argument("--hidden", action="store_true", help="include hidden tests (instructors)")
    p.set_defaults(run=cmd_show)
    _add_report_commands(sub)
    _add_nbgrader_commands(sub)
    return parser


def _sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", choices=["auto", "local", "docker"], default="auto",
                   help="where student code runs: docker, the jailed local subprocess, or auto "
                        "(docker wherever an engine answers; the default)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="grade N submissions at once")


def _announce(sandbox: str) -> str:
    print(f"grader: student code runs in the {sandbox} sandbox", file=sys.stderr)
    return sandbox


def _specs(args: argparse.Namespace, names: list[str]) -> list[AssignmentSpec]:
    if names:
        return [find_assignment(args.course, n) for n in names]
    return find_assignments(args.course)


def cmd_list(args: argparse.Namespace) -> int:
    specs = find_assignments(args.course)
    width = max((len(s.id) for s in specs), default=10)
    for spec in specs:
        gpu = {True: "  (GPU)", "optional": "  (GPU if present)"}.get(spec.gpu, "")
        print(f"{spec.id:<{width}}  {spec.points:>5g} pts  {spec.title}{gpu}")
    return OK


def cmd_check(args: argparse.Namespace) -> int:
    from grader.report.views.console import to_text

    spec = find_assignment(args.course, args.assignment)
    report = api.grade(spec, args.path.resolve(), isolate=args.isolate, visibility="public",
                       name=args.path.resolve().name)
    print(to_text(report, color=sys.stdout.isatty()), end="")
    if report["status"] in ("infra_error", "skipped"):
        return INFRA
    return OK if report["score"] == report["max_score"] and report["status"] == "graded" else FAILED


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.batch import grade_batch

    spec = find_assignment(args.course, args.assignment)
    args.sandbox = _announce(choose_sandbox(args.sandbox))
    reports = grade_batch(spec, [s.resolve() for s in args.submissions], args.out, sandbox=args.sandbox,
                          jobs=args.jobs, force=args.force)
    _print_table([(spec.id, name, r, "") for name, r in reports.items()])
    return INFRA if any(r["status"] == "infra_error" for r in reports.values()) else OK


def cmd_examples(args: argparse.Namespace) -> int:
    from grader.batch import grade_batch
    from grader.examples import problems

    rows, bad, infra = [], 0, False
    args.sandbox = _announce(choose_sandbox(args.sandbox))
    for spec, cases, out in _example_groups(args):
        reports = grade_batch(spec, [c.path for c in cases], out, sandbox=args.sandbox, jobs=args.jobs,
                              force=args.force, progress=None, names=[c.name for c in cases])
        for report, case in zip(reports.values(), cases):
            found = problems(case, report)
            bad += bool(found)
            infra |= report["status"] == "infra_error"
            note = "; ".join(found) or (report["reason"] if report["status"] == "skipped" else "ok")
            rows.append((spec.id if out.parent.name != "hostile" else "hostile", case.name, report, note))
    _print_table(rows, expectation=True)
    print(f"\n{len(rows)} submissions graded, {bad} not as expected; reports in {args.out}/")
    return INFRA if infra else (FAILED if bad else OK)


def _example_groups(args: argparse.Namespace) -> list[tuple[AssignmentSpec, list, Path]]:
    """(assignment, cases, report folder) for the chosen assignments, and `hostile` for the attacks."""
    from grader.examples import cases_for, hostile_cases

    names = [n for n in args.assignments if n != "hostile"]
    groups = [] if args.assignments and not names else \
        [(spec, cases_for(spec), args.out / spec.id) for spec in _specs(args, names)]
    if not args.assignments or "hostile" in args.assignments:
        by_target: dict[str, list] = {}
        for case in hostile_cases(args.course):
            by_target.setdefault(case.assignment, []).append(case)
        for target, cases in by_target.items():
            groups.append((find_assignment(args.course, target), cases, args.out / "hostile" / target))
    return groups


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
    from grader.release import release

    spec = find_assignment(args.course, args.assignment)
    target = release(spec, args.out)
    print(f"released {spec.id} to {target}")
    return OK


def cmd_validate(args: argparse.Namespace) -> int:
    from grader.validate import validate

    failed = 0
    for spec in _specs(args, args.assignments):
        found = validate(spec)
        failed += bool(found)
        print(f"{spec.id}: " + ("ok" if not found else "\n  ".join(["PROBLEMS", *found])))
    return FAILED if failed else OK


def cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from grader.sandbox.image import doctor

    facts = doctor()
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
    print(f"gpus     {', '.join(g['index'] + ': ' + g['name'] for g in facts['gpus']) or 'none'}; "
          f"nvidia runtime: {'yes' if facts['nvidia_runtime'] else 'no'}")
    for problem in facts["problems"]:
        print(f"problem  {problem}")
    return INFRA if facts["problems"] else OK


def cmd_show(args: argparse.Namespace) -> int:
    from grader.report.views.console import to_text
    from grader.report.write import read_report

    print(to_text(read_report(args.report), show_hidden=args.hidden), end="")
    return OK


def _add_report_commands(sub: argparse._SubParsersAction) -> None:
    """`grader report convert|gradebook`: views of reports (grader.report.views), written to a file."""
    report = sub.add_parser("report", help="turn reports into Gradescope, JUnit, HTML or a CSV gradebook")
    views = report.add_subparsers(title="report commands", metavar="COMMAND")
    p = views.add_parser("convert", help="one report as another format")
    p.add_argument("report", type=Path, help="a JSON report written by `grader grade`")
    p.add_argument("--to", required=True, choices=["gradescope", "junit", "html"])
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    p.add_argument("--hidden", action="store_true",
                   help="the instructor's copy: hidden tests' messages and what the code printed")
    p.set_defaults(run=_cmd_report_convert)
    p = views.add_parser("gradebook", help="reports of a batch as a CSV gradebook")
    p.add_argument("reports", nargs="+", type=Path, metavar="REPORT")
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.set_defaults(run=_cmd_report_gradebook)
    report.set_defaults(run=lambda args: report.print_help() or USAGE)


def _cmd_report_convert(args: argparse.Namespace) -> int:
    import json

    from grader.report.write import read_report

    report = read_report(args.report)
    if args.to == "gradescope":
        from grader.report.views.gradescope import to_gradescope

        text = json.dumps(to_gradescope(report), indent=2, allow_nan=False) + "\n"
    elif args.to == "junit":
        from grader.report.views.junit import to_junit

        text = to_junit(report, show_hidden=args.hidden)
    else:
        from grader.report.views.html import to_html

        text = to_html(report, show_hidden=args.hidden)
    _emit(text, args.out)
    return OK


def _cmd_report_gradebook(args: argparse.Namespace) -> int:
    from grader.report.views.gradebook import to_gradebook_csv
    from grader.report.write import read_report

    reports = [read_report(f) for f in _report_files(args.reports)]
    _emit(to_gradebook_csv(reports), args.out)
    print(f"{len(reports)} reports -> {args.out}", file=sys.stderr)
    return OK


def _add_nbgrader_commands(sub: argparse._SubParsersAction) -> None:
    """`grader nbgrader grade|export`: notebooks written for nbgrader, and grades for its formgrader."""
    group = sub.add_parser("nbgrader", help="grade nbgrader-format notebooks; export to an nbgrader gradebook")
    commands = group.add_subparsers(title="nbgrader commands", metavar="COMMAND")
    p = commands.add_parser("grade", help="grade student notebooks against the instructor's nbgrader "
                                          "source notebook (nbgrader's rules, our sandbox and report)")
    p.add_argument("source", type=Path, help="the instructor's notebook with nbgrader cell metadata")
    p.add_argument("submissions", nargs="+", type=Path, metavar="NOTEBOOK")
    p.add_argument("--out", type=Path, required=True, help="folder for the reports (DIR/<name>.json)")
    p.add_argument("--sandbox", choices=["auto", "local", "docker"], default="auto")
    p.set_defaults(run=_cmd_nbgrader_grade)
    p = commands.add_parser("export", help="add reports to an nbgrader gradebook for manual grading")
    p.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="reports or folders of them")
    p.add_argument("--db", required=True, help="the gradebook, e.g. sqlite:///gradebook.db")
    p.add_argument("--assignment", required=True, help="the assignment's name in the gradebook")
    p.set_defaults(run=_cmd_nbgrader_export)
    group.set_defaults(run=lambda args: group.print_help() or USAGE)


def _cmd_nbgrader_grade(args: argparse.Namespace) -> int:
    from grader.batch import plan
    from grader.ingest import submission_name
    from grader.nbgrader_compat import grade_notebook
    from grader.report.write import write_report

    if not args.source.is_file():
        raise GraderError(f"{args.source}: no such notebook")
    sandbox = _announce(choose_sandbox(args.sandbox))
    # nbgrader's layout names the student by folder: submitted/<student>/<assignment>/<notebook>.ipynb
    names = [s.resolve().parts[-3] if s.stem == args.source.stem and len(s.resolve().parts) > 3
             else submission_name(s) for s in args.submissions]
    rows = []
    for name, notebook in plan(args.submissions, names).items():
        report = grade_notebook(args.source, notebook, name=name, sandbox=sandbox)
        write_report(report, args.out / f"{name}.json")
        rows.append((args.source.stem, name, report, ""))
    _print_table(rows)
    return INFRA if any(r["status"] == "infra_error" for _, _, r, _ in rows) else OK


def _cmd_nbgrader_export(args: argparse.Namespace) -> int:
    from grader.nbgrader_gradebook import export_reports
    from grader.report.write import read_report

    files = _report_files(args.reports)
    written = export_reports([read_report(f) for f in files], args.db, args.assignment)
    print(f"{written} of {len(files)} reports added to {args.db} as {args.assignment} "
          "(reports with an infra_error have no score to add)", file=sys.stderr)
    return OK


def _report_files(paths: list[Path]) -> list[Path]:
    """Report files named directly, and every *.json under folders named."""
    return [f for path in paths for f in (sorted(path.rglob("*.json")) if path.is_dir() else [path])]


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
