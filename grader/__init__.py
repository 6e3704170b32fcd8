"""A grader for a deep-learning course learned by building things.

This file stays tiny on purpose: it is copied into the sandbox next to the runner, so it must import
nothing but the standard library.
"""

__version__ = "0.1.0"
