"""Numpy warm-up: indexing, axes, broadcasting, stacking and standardisation, without Python loops.

Every function takes and returns numpy arrays. Where a docstring says "no loops", the hidden tests give
inputs large enough that a Python loop over elements runs out of time.
"""

import numpy as np


def corner(X, k):
    """The bottom-right k x k block of a 2-D array X (copying is not needed). k >= 1."""
    return X[-k:, -k:]


def every_other_row(X):
    """Rows 0, 2, 4, ... of X, in order."""
    return X[::2]


def column_means(X):
    """Mean of each column of X (N, D): an array (D,)."""
    return X.mean(axis=0)


def row_norms(X):
    """Euclidean length of each row of X (N, D): an array (N,)."""
    return np.sqrt((X ** 2).sum(axis=1))


def add_bias_column(X):
    """X (N, D) with a column of ones put in front: (N, D + 1), float64."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


def standardise(X):
    """Each column of X (N, D) shifted to mean 0 and scaled to standard deviation 1.

    Columns with standard deviation 0 become all zeros (not NaN). Returns float64 (N, D).
    """
    centred = X - X.mean(axis=0)
    std = X.std(axis=0)
    return centred / np.where(std > 0, std, 1.0)


def pairwise_sq_distances(A, B):
    """Squared Euclidean distance between every row of A (N, D) and every row of B (M, D): (N, M).

    No loops: use broadcasting or the expansion |a - b|^2 = |a|^2 - 2 a.b + |b|^2.
    """
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2)


def count_above(X, threshold):
    """How many entries of each row of X are strictly greater than threshold: int array (N,)."""
    return (X > threshold).sum(axis=1)
