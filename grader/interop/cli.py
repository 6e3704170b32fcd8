"""Subcommands of the platform exporters (`grader gradescope …`); argument parsing only.

`register(sub)` is called once from grader/cli.py; the work is in the grader.interop modules, and nothing
here computes a score or writes a report itself.
Exit codes follow grader.cli: 0 done, 2 usage, 3 the grader itself failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OK, USAGE, INFRA = 0, 2, 3


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `grader` parser's subcommands."""
    _gradescope(sub)
    _prairielearn(sub)
    _similarity(sub)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _gradescope(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "gradescope", help="package an assignment as a Gradescope autograder zip; grade inside it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  grader gradescope package 05-backprop --out autograder.zip\n"
               "  # in Gradescope's container, run_autograder calls:\n"
               "  grader --course /autograder/source/course gradescope run 05-backprop \\\n"
               "      --submission /autograder/submission --results /autograder/results/results.json")
    commands = group.add_subparsers(title="gradescope commands", metavar="COMMAND")
    p = commands.add_parser("package", help="write autograder.zip: setup.sh, run_autograder, grader, assignment",
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_examples(
                                "grader gradescope package 05-backprop --out autograder.zip",
                                "grader --course ~/course gradescope package mnist-mlp --out mlp.zip"))
    p.add_argument("assignment", help="assignment id or short name, e.g. 05-backprop or backprop")
    p.add_argument("--out", type=Path, required=True, help="the zip to write, e.g. autograder.zip")
    p.set_defaults(run=_cmd_package)
    p = commands.add_parser("run", help="grade one submission into Gradescope's results.json "
                                        "(what run_autograder calls)",
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_examples(
                                "grader gradescope run 05-backprop   # in Gradescope's container",
                                "grader gradescope run backprop --submission ~/alice --results /tmp/r.json"))
    p.add_argument("assignment", help="assignment id or short name, e.g. 05-backprop or backprop")
    p.add_argument("--submission", type=Path, default=Path("/autograder/submission"),
                   help="the student's files (default: Gradescope's /autograder/submission)")
    p.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"),
                   help="where results.json goes (default: Gradescope's /autograder/results/results.json)")
    p.set_defaults(run=_cmd_run)
    group.set_defaults(run=lambda args: group.print_help() or USAGE)


def _cmd_package(args: argparse.Namespace) -> int:
    from grader.interop.gradescope import build_autograder_zip

    from grader.spec import find_assignment

    spec = find_assignment(args.course, args.assignment)
    manifest = build_autograder_zip(spec, args.out)
    print(f"{spec.id}: {len(manifest['files'])} files -> {args.out} "
          "(upload it as the assignment's autograder; Gradescope runs setup.sh once)", file=sys.stderr)
    return OK


def _cmd_run(args: argparse.Namespace) -> int:
    from grader.interop.gradescope import run_in_gradescope
    from grader.report.views.console import to_text

    from grader.spec import find_assignment

    spec = find_assignment(args.course, args.assignment)
    report, written = run_in_gradescope(spec, args.submission, args.results)
    print(to_text(report, show_hidden=True), end="")  # stdout: the instructor's eyes only
    if not written:
        print(f"grader: no results.json: {report['status']}: {report['reason']}", file=sys.stderr)
        return INFRA
    return OK


def _prairielearn(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "prairielearn", help="PrairieLearn external grader: grade /grade/student into results.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  # the question's externalGradingOptions.entrypoint:\n"
               "  python3 -m grader --course /grade/serverFilesCourse/course prairielearn run 05-backprop\n"
               "  grader prairielearn convert reports/alice.json --out results.json")
    commands = group.add_subparsers(title="prairielearn commands", metavar="COMMAND")
    p = commands.add_parser("run", help="grade ROOT/student, write ROOT/results/results.json",
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_examples(
                                "grader prairielearn run 05-backprop   # in the external grader image",
                                "grader prairielearn run backprop --root /tmp/job   # a job folder of your own"))
    p.add_argument("assignment", help="assignment id or short name, e.g. 05-backprop or backprop")
    p.add_argument("--root", type=Path, default=Path("/grade"), help="PrairieLearn's job folder (default /grade)")
    p.set_defaults(run=_cmd_pl_run)
    p = commands.add_parser("convert", help="one report as PrairieLearn's results.json",
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_examples(
                                "grader prairielearn convert reports/alice.json --out results.json"))
    p.add_argument("report", type=Path, help="a JSON report written by `grader grade`")
    p.add_argument("--out", type=Path, required=True, help="the results.json to write")
    p.set_defaults(run=_cmd_pl_convert)
    group.set_defaults(run=lambda args: group.print_help() or USAGE)


def _cmd_pl_run(args: argparse.Namespace) -> int:
    from grader.interop.prairielearn import run_in_prairielearn
    from grader.spec import find_assignment

    spec = find_assignment(args.course, args.assignment)
    report, written = run_in_prairielearn(spec, args.root)
    # PrairieLearn may show the job's output to the student: one line, nothing hidden, no paths.
    score = "no score" if report["score"] is None else f"{report['score']:g}/{report['max_score']:g}"
    print(f"{spec.id}: {score} ({report['status']})")
    if not written:
        from grader.report.views.redact import strip_paths

        print(f"grader: no results.json, this is not a grade: {report['status']}: "
              f"{strip_paths(report['reason'])}", file=sys.stderr)
        return INFRA
    return OK


def _cmd_pl_convert(args: argparse.Namespace) -> int:
    import json

    from grader.report.views.prairielearn import to_prairielearn
    from grader.report.write import read_report

    text = json.dumps(to_prairielearn(read_report(args.report)), indent=2, allow_nan=False) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return OK


def _similarity(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "similarity", help="rank pairs of submissions by similarity (exact and near duplicates) as HTML",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  grader similarity 05-backprop submissions/ --out similarity.html\n"
               "  grader similarity 05-backprop reports/05-backprop/ subs/*.zip --out similarity.html\n"
               "  # reports alone give exact duplicates (their sha256); submissions also near ones")
    p.add_argument("assignment", help="assignment id or short name whose starter code is not counted as shared")
    p.add_argument("paths", nargs="+", type=Path, metavar="REPORT_OR_SUBMISSION",
                   help="reports (*.json or folders of them), submissions, or folders of submissions")
    p.add_argument("--out", type=Path, required=True, help="the HTML page to write")
    p.add_argument("--threshold", type=float, default=None,
                   help="least similarity (0-1) of a near duplicate to list (default 0.33)")
    p.set_defaults(run=_cmd_similarity)


def _cmd_similarity(args: argparse.Namespace) -> int:
    from grader.interop.similarity import DEFAULT_THRESHOLD, find_pairs, load_entries, to_similarity_html
    from grader.spec import find_assignment

    spec = find_assignment(args.course, args.assignment)
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0 <= threshold <= 1:
        print(f"grader: --threshold {threshold} is not between 0 and 1", file=sys.stderr)
        return USAGE
    entries = load_entries(spec, _expand(args.paths))
    pairs = find_pairs(spec, entries, threshold=threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_similarity_html(spec, entries, pairs, threshold=threshold), encoding="utf-8")
    exact = sum(p.kind == "exact" for p in pairs)
    print(f"{len(entries)} submissions, {exact} exact and {len(pairs) - exact} near duplicate pairs -> {args.out}",
          file=sys.stderr)
    return OK


def _expand(paths: list[Path]) -> list[Path]:
    """A folder that holds submissions (not itself one) stands for each of them."""
    found = []
    for path in paths:
        children = sorted(path.iterdir()) if path.is_dir() else []
        is_batch = children and not any(c.suffix in (".py", ".ipynb") for c in children if c.is_file()) \
            and not any(c.suffix == ".json" for c in children)
        found += children if is_batch else [path]
    return found
