"""Hidden tests for numpy basics: random shapes, edge cases, and inputs too big for Python loops."""

import numpy as np
import pytest

from grader.judge.checks import assert_close

SHAPES = [(1, 1), (5, 3), (3, 7), (50, 20)]


@pytest.mark.points(1)
@pytest.mark.parametrize("shape,k", [((5, 5), 1), ((6, 4), 3), ((3, 8), 3)])
def test_corner_shapes(submission, reference, rng, shape, k):
    X = rng.normal(size=shape)
    assert_close(submission.corner(X, k), reference.corner(X, k), name=f"corner(X, {k})")


@pytest.mark.points(1)
@pytest.mark.parametrize("rows", [1, 2, 7])
def test_every_other_row_shapes(submission, reference, rng, rows):
    X = rng.normal(size=(rows, 3))
    assert_close(submission.every_other_row(X), reference.every_other_row(X), name="every_other_row")


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES)
def test_column_means_and_row_norms(submission, reference, rng, shape):
    X = rng.normal(size=shape)
    assert_close(submission.column_means(X), reference.column_means(X), name="column means",
                 hints={"average down the columns (axis=0), not along the rows": X.mean(axis=1)})
    assert_close(submission.row_norms(X), reference.row_norms(X), name="row norms",
                 hints={"take the square root of the sum of squares": (X ** 2).sum(axis=1)})


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES)
def test_add_bias_column_shapes(submission, reference, rng, shape):
    X = rng.normal(size=shape)
    assert_close(submission.add_bias_column(X), reference.add_bias_column(X), name="with bias column",
                 hints={"the ones go in front (column 0), not at the end": np.hstack([X, np.ones((shape[0], 1))])})


@pytest.mark.points(1)
def test_add_bias_column_of_integers(submission):
    X = np.arange(6).reshape(3, 2)
    assert_close(submission.add_bias_column(X), np.array([[1.0, 0, 1], [1, 2, 3], [1, 4, 5]]),
                 name="with bias column of an integer X (the result is float64 whatever X's dtype)")


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(5, 3), (40, 6), (2, 2)])
def test_standardise_random(submission, reference, rng, shape):
    X = rng.normal(loc=3.0, scale=2.5, size=shape)
    X[:, 0] = 4.0  # one constant column
    expected = reference.standardise(X)
    wrong_axis = (X - X.mean(axis=1, keepdims=True)) / np.maximum(X.std(axis=1, keepdims=True), 1e-12)
    sample_std = X.std(axis=0, ddof=1)
    with_sample_std = (X - X.mean(axis=0)) / np.where(sample_std > 0, sample_std, 1.0)
    assert_close(submission.standardise(X), expected, name="standardised",
                 hints={"standardise each column (statistics over axis=0), not each row": wrong_axis,
                        "divide by the population standard deviation (np.std's default ddof=0), not the "
                        "sample one (ddof=1)": with_sample_std})


@pytest.mark.points(2)
def test_standardise_gives_mean_zero_std_one(submission, rng):
    out = submission.standardise(rng.normal(loc=-7, scale=0.3, size=(100, 4)))
    assert_close(out.mean(axis=0), np.zeros(4), name="column means after standardising", atol=1e-10)
    assert_close(out.std(axis=0), np.ones(4), name="column standard deviations after standardising")


@pytest.mark.points(2)
@pytest.mark.parametrize("n,m,d", [(1, 1, 1), (4, 6, 3), (30, 20, 10)])
def test_pairwise_sq_distances_random(submission, reference, rng, n, m, d):
    A, B = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    assert_close(submission.pairwise_sq_distances(A, B), reference.pairwise_sq_distances(A, B),
                 name="distances", rtol=1e-9, atol=1e-9,
                 hints={"these are distances, not squared distances": np.sqrt(reference.pairwise_sq_distances(A, B))})


@pytest.mark.points(3)
def test_pairwise_sq_distances_without_loops(submission, reference, rng):
    A, B = rng.normal(size=(1500, 16)), rng.normal(size=(1200, 16))
    # 1.8 million pairs: broadcasting takes well under a second; a Python loop over pairs runs out of time.
    assert_close(submission.pairwise_sq_distances(A, B), reference.pairwise_sq_distances(A, B),
                 name="distances", rtol=1e-9, atol=1e-9)


@pytest.mark.points(2)
@pytest.mark.parametrize("threshold", [-0.5, 0.0, 2.0])
def test_count_above_random(submission, reference, rng, threshold):
    X = np.round(rng.normal(size=(8, 5)), 1)
    X[0, 0] = threshold  # equal is not above
    X[1, 1] = threshold + 0.5  # at least one count above 0: all zeros must not pass
    assert_close(submission.count_above(X, threshold), reference.count_above(X, threshold), name="counts",
                 dtype=None, hints={"strictly greater: an entry equal to the threshold does not count":
                                    (X >= threshold).sum(axis=1)})
