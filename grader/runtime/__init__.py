"""The runtime: exactly what crosses into the sandbox. `runner` loads the student's modules and answers
calls; `wire` is the frame format both sides speak.

This package is copied into every sandbox next to grader/__init__.py, so it imports nothing but the
standard library and numpy, and never anything else of the grader: no test, reference or report.
"""
