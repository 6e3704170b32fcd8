"""The trusted side: the instructor's tests, the reference values, the held-out data and the verdicts.

Nothing in this package ever imports, unpickles or executes submission code. The submission lives in a
runner process (see `grader.sandbox`); tests reach it only through `grader.judge.proxy`, whose values
are plain numbers and arrays that the checks in `grader.judge.checks` examine on this side.
"""
