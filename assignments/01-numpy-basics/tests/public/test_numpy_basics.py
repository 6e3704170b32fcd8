"""Public tests for numpy basics: run them with `grader check numpy-basics`."""

import numpy as np
import pytest

from grader.judge.checks import assert_close

X = np.arange(12.0).reshape(4, 3)


@pytest.mark.points(1)
def test_corner(submission):
    assert_close(submission.corner(X, 2), np.array([[7.0, 8.0], [10.0, 11.0]]), name="corner(X, 2)")


@pytest.mark.points(1)
def test_every_other_row(submission):
    assert_close(submission.every_other_row(X), X[[0, 2]], name="every_other_row(X)")


@pytest.mark.points(2)
def test_column_means(submission):
    assert_close(submission.column_means(X), np.array([4.5, 5.5, 6.5]), name="column means",
                 hints={"average down the columns (axis=0), not along the rows": X.mean(axis=1)})


@pytest.mark.points(2)
def test_row_norms(submission):
    assert_close(submission.row_norms(np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])), np.array([5.0, 0.0, 1.0]),
                 name="row norms")


@pytest.mark.points(2)
def test_add_bias_column(submission):
    expected = np.array([[1.0, 0, 1, 2], [1, 3, 4, 5], [1, 6, 7, 8], [1, 9, 10, 11]])
    assert_close(submission.add_bias_column(X), expected, name="with bias column",
                 hints={"the ones go in front (column 0), not at the end": np.hstack([X, np.ones((4, 1))])})


@pytest.mark.points(3)
def test_standardise(submission):
    out = submission.standardise(np.array([[1.0, 10.0], [3.0, 10.0]]))
    assert_close(out, np.array([[-1.0, 0.0], [1.0, 0.0]]), name="standardised",
                 hints={"a constant column must become zeros, not NaN": np.array([[-1.0, np.nan], [1.0, np.nan]]),
                        "divide by the population standard deviation (np.std's default ddof=0), not the "
                        "sample one (ddof=1)": np.array([[-1.0, 0.0], [1.0, 0.0]]) / np.sqrt(2.0)})


@pytest.mark.points(3)
def test_pairwise_sq_distances(submission):
    A = np.array([[0.0, 0.0], [1.0, 1.0]])
    B = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    assert_close(submission.pairwise_sq_distances(A, B), np.array([[1.0, 4.0, 25.0], [1.0, 2.0, 13.0]]),
                 name="distances")


@pytest.mark.points(2)
def test_count_above(submission):
    assert_close(submission.count_above(X, 4.0), np.array([0, 1, 3, 3]), name="counts", dtype=None)
