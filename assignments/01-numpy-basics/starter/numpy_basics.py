"""Numpy warm-up: indexing, axes, broadcasting, stacking and standardisation, without Python loops.

Every function takes and returns numpy arrays. Where a docstring says "no loops", the hidden tests give
inputs large enough that a Python loop over elements runs out of time.
"""

import numpy as np


def corner(X, k):
    """The bottom-right k x k block of a 2-D array X (copying is not needed). k >= 1."""
    # TODO: index the last k rows and the last k columns.
    raise NotImplementedError


def every_other_row(X):
    """Rows 0, 2, 4, ... of X, in order."""
    # TODO: slice every second row.
    raise NotImplementedError


def column_means(X):
    """Mean of each column of X (N, D): an array (D,)."""
    # TODO: average over the right axis.
    raise NotImplementedError


def row_norms(X):
    """Euclidean length of each row of X (N, D): an array (N,)."""
    # TODO: square, sum along each row, take the square root.
    raise NotImplementedError


def add_bias_column(X):
    """X (N, D) with a column of ones put in front: (N, D + 1), float64."""
    # TODO: stack a column of ones in front of X.
    raise NotImplementedError


def standardise(X):
    """Each column of X (N, D) shifted to mean 0 and scaled to standard deviation 1.

    Columns with standard deviation 0 become all zeros (not NaN). Returns float64 (N, D).
    """
    # TODO: subtract column means and divide by column standard deviations, leaving constant columns at 0.
    raise NotImplementedError


def pairwise_sq_distances(A, B):
    """Squared Euclidean distance between every row of A (N, D) and every row of B (M, D): (N, M).

    No loops: use broadcasting or the expansion |a - b|^2 = |a|^2 - 2 a.b + |b|^2.
    """
    # TODO: broadcast A (N, 1, D) against B (1, M, D), square and sum the last axis.
    raise NotImplementedError


def count_above(X, threshold):
    """How many entries of each row of X are strictly greater than threshold: int array (N,)."""
    # TODO: compare with the threshold and count along each row.
    raise NotImplementedError
