"""Hidden tests for batch normalisation: random shapes and settings compared with the reference, running
statistics over many batches, test mode, gradient checks, and normalisation of held-out data."""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close
from grader.judge.gradcheck import assert_gradient, numeric_gradient


def layer(rng, n, d, scale=1.0):
    """A batch with features on different scales and offsets, and random gamma, beta, running stats."""
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 4, size=d) * scale + rng.normal(size=d) * 3 * scale
    return (x, rng.normal(size=d), rng.normal(size=d), rng.normal(size=d), rng.uniform(0.5, 2, size=d))


def forward_hints(x, gamma, beta, eps):
    """What familiar slips give for the training-mode output."""
    def out(mean, var):
        return gamma * (x - mean) / np.sqrt(var + eps) + beta
    mean = x.mean(axis=0)
    return {"normalise each feature with its own variance over the batch (axis=0)": out(mean, x.var()),
            "use the biased batch variance (divide by N, np.var's default)": out(mean, x.var(axis=0, ddof=1)),
            "eps goes inside the square root: sqrt(var + eps)": gamma * (x - mean) / (x.std(axis=0) + eps) + beta}


def running_hints(running, batch, momentum, what):
    return {f"running_{what} = momentum * running_{what} + (1 - momentum) * batch {what}: "
            "the old value keeps the weight momentum": (1 - momentum) * running + momentum * batch,
            f"running_{what} must be a running average, not the last batch's {what} "
            "(running = momentum * running + (1 - momentum) * batch)": batch}


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d", [(2, 1), (7, 3), (64, 10), (5, 40)])
def test_forward_train_matches_reference(submission, reference, rng, n, d):
    x, gamma, beta, rm, rv = layer(rng, n, d)
    out, new_mean, new_var = submission.batchnorm_forward(x, gamma, beta, rm, rv, True, 0.8, 1e-4)
    ref_out, ref_mean, ref_var = reference.batchnorm_forward(x, gamma, beta, rm, rv, True, 0.8, 1e-4)
    assert_close(out, ref_out, name="out", hints={
        **forward_hints(x, gamma, beta, 1e-4),
        "in training, normalise with the batch's statistics, not the running ones": reference.batchnorm_forward(
            x, gamma, beta, rm, rv, False, 0.8, 1e-4)[0]})
    assert_close(new_mean, ref_mean, name="running_mean", hints=running_hints(rm, x.mean(axis=0), 0.8, "mean"))
    hints = running_hints(rv, x.var(axis=0), 0.8, "var")
    hints["the running variance averages the batch variances (biased, divide by N)"] = \
        0.8 * rv + 0.2 * x.var(axis=0, ddof=1)
    assert_close(new_var, ref_var, name="running_var", hints=hints)


@pytest.mark.points(2)
def test_forward_train_defaults(submission, reference, rng):
    x, gamma, beta, rm, rv = layer(rng, 6, 4, scale=0.01)
    got = submission.batchnorm_forward(x, gamma, beta, rm, rv, True)
    with assert_all() as check:
        for name, g, e in zip(("out", "running_mean", "running_var"), got,
                              reference.batchnorm_forward(x, gamma, beta, rm, rv, True)):
            check(assert_close, g, e, name=f"{name} with the default momentum (0.9) and eps (1e-5)")


@pytest.mark.points(2)
def test_forward_train_single_example(submission, reference, rng):
    x, gamma, beta, rm, rv = layer(rng, 1, 5)
    out, new_mean, new_var = submission.batchnorm_forward(x, gamma, beta, rm, rv, True)
    assert_close(out, reference.batchnorm_forward(x, gamma, beta, rm, rv, True)[0],
                 name="out for a batch of one example (its variance is 0: out = beta)")
    assert_close(new_var, reference.batchnorm_forward(x, gamma, beta, rm, rv, True)[2], name="running_var")


@pytest.mark.points(4)
def test_running_statistics_over_many_batches(submission, reference, rng):
    d = 6
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    rm, rv = np.zeros(d), np.ones(d)
    ref_mean, ref_var = rm, rv
    for step in range(12):
        x = rng.normal(size=(16, d)) * 2 + 5
        hints_mean = running_hints(rm, x.mean(axis=0), 0.7, "mean")
        _, rm, rv = submission.batchnorm_forward(x, gamma, beta, rm, rv, True, 0.7)
        _, ref_mean, ref_var = reference.batchnorm_forward(x, gamma, beta, ref_mean, ref_var, True, 0.7)
        assert_close(rm, ref_mean, name=f"running_mean after batch {step + 1}", hints=hints_mean)
        assert_close(rv, ref_var, name=f"running_var after batch {step + 1}")


def eval_hints(x, gamma, beta, eps):
    batch = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
    return {"at test time normalise with running_mean and running_var, not the batch's statistics": batch}


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d", [(1, 4), (9, 3), (30, 12)])
def test_forward_test_mode_matches_reference(submission, reference, rng, n, d):
    x, gamma, beta, rm, rv = layer(rng, n, d)
    out, new_mean, new_var = submission.batchnorm_forward(x, gamma, beta, rm, rv, False, 0.8, 1e-3)
    ref_out, _, _ = reference.batchnorm_forward(x, gamma, beta, rm, rv, False, 0.8, 1e-3)
    assert_close(out, ref_out, name="out at test time", hints={
        **eval_hints(x, gamma, beta, 1e-3),
        "eps goes inside the square root: sqrt(running_var + eps)": gamma * (x - rm) / (np.sqrt(rv) + 1e-3) + beta})
    assert_close(new_mean, rm, name="running_mean after test mode (must not change)")
    assert_close(new_var, rv, name="running_var after test mode (must not change)")


@pytest.mark.points(4)
def test_held_out_data_is_normalised(submission, rng):
    d = 5
    true_mean, true_std = rng.normal(size=d) * 4, rng.uniform(0.5, 3, size=d)
    rm, rv = np.zeros(d), np.ones(d)
    for _ in range(60):
        batch = rng.normal(size=(32, d)) * true_std + true_mean
        _, rm, rv = submission.batchnorm_forward(batch, np.ones(d), np.zeros(d), rm, rv, True)
    # Fresh data from the same distribution: normalised with the running statistics, it must come out
    # with mean 0 and std 1, one example at a time as well as all together.
    held_out = rng.normal(size=(4000, d)) * true_std + true_mean
    single = submission.batchnorm_forward(held_out[:1], np.ones(d), np.zeros(d), rm, rv, False)[0]
    expected_single = (held_out[:1] - true_mean) / true_std
    worst = int(np.argmax(np.abs(single - expected_single)))
    assert np.all(np.abs(single - expected_single) < 0.25 + 0.1 * np.abs(expected_single)), \
        f"after 60 training batches, one held-out example comes out of test mode as {single[0, worst]:.3f} " \
        f"in feature {worst}; normalised with the data's true mean and std it is {expected_single[0, worst]:.3f}"
    out = submission.batchnorm_forward(held_out, np.ones(d), np.zeros(d), rm, rv, False)[0]
    err_mean, err_std = np.abs(out.mean(axis=0)).max(), np.abs(out.std(axis=0) - 1).max()
    assert err_mean < 0.15 and err_std < 0.15, \
        f"after 60 training batches, held-out data at test time has feature means up to {err_mean:.3f} away " \
        f"from 0 and stds up to {err_std:.3f} away from 1: the running statistics do not track the data"


def backward_hints(dout, x, gamma, eps):
    std = np.sqrt(x.var(axis=0) + eps)
    return {"dx must include the paths through the batch mean and variance, not only dout * gamma / std":
            dout * gamma / std,
            "dx is missing the path through the batch variance": (dout * gamma - (dout * gamma).mean(axis=0)) / std}


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d", [(2, 3), (8, 5), (40, 7)])
def test_backward_matches_reference(submission, reference, rng, n, d):
    x, gamma, _, _, _ = layer(rng, n, d)
    dout = rng.normal(size=(n, d))
    got = submission.batchnorm_backward(dout, x, gamma, 1e-4)
    assert isinstance(got, tuple) and len(got) == 3, "batchnorm_backward must return (dx, dgamma, dbeta)"
    expected = reference.batchnorm_backward(dout, x, gamma, 1e-4)
    hints = {"dx": backward_hints(dout, x, gamma, 1e-4),
             "dgamma": {"dgamma is the sum over the batch of dout * x_hat": (dout * x).sum(axis=0)},
             "dbeta": {"dbeta must be summed over the batch axis (axis=0)": dout}}
    with assert_all() as check:
        for name, g, e in zip(("dx", "dgamma", "dbeta"), got, expected):
            check(assert_close, g, e, name=name, rtol=1e-5, hints=hints[name])


@pytest.mark.points(2)
def test_backward_defaults(submission, reference, rng):
    x, gamma, _, _, _ = layer(rng, 4, 3, scale=0.005)
    dout = rng.normal(size=(4, 3))
    with assert_all() as check:
        for name, g, e in zip(("dx", "dgamma", "dbeta"), submission.batchnorm_backward(dout, x, gamma),
                              reference.batchnorm_backward(dout, x, gamma)):
            check(assert_close, g, e, name=f"{name} with the default eps (1e-5)", rtol=1e-5)


@pytest.mark.points(4)
def test_backward_gradient_check(submission, reference, rng):
    x, gamma, beta, rm, rv = layer(rng, 6, 4)
    dout = rng.normal(size=(6, 4))

    def out(x, gamma, beta):
        return reference.batchnorm_forward(x, gamma, beta, rm, rv, True)[0]

    dx, dgamma, dbeta = submission.batchnorm_backward(dout, x, gamma)
    assert_gradient(dx, numeric_gradient(lambda v: out(v, gamma, beta), x, dout), "dx",
                    hints=backward_hints(dout, x, gamma, 1e-5))
    assert_gradient(dgamma, numeric_gradient(lambda v: out(x, v, beta), gamma, dout), "dgamma")
    assert_gradient(dbeta, numeric_gradient(lambda v: out(x, gamma, v), beta, dout), "dbeta")


@pytest.mark.points(1)
def test_backward_single_example(submission, reference, rng):
    x, gamma, _, _, _ = layer(rng, 1, 4)
    dout = rng.normal(size=(1, 4))
    dx, dgamma, dbeta = submission.batchnorm_backward(dout, x, gamma)
    assert_close(dx, np.zeros((1, 4)), name="dx for a batch of one (the output is beta whatever x is)",
                 atol=1e-6)
    assert_close(dbeta, dout[0], name="dbeta for a batch of one")


def channel_hint(x, gamma, beta, eps):
    """The output when (N, C, H, W) is reshaped to (-1, C) without moving the channels last first."""
    n, c, h, w = x.shape
    rows = x.reshape(-1, c)
    out = gamma * (rows - rows.mean(axis=0)) / np.sqrt(rows.var(axis=0) + eps) + beta
    return {"move the channel axis last before flattening: x.transpose(0, 2, 3, 1).reshape(-1, C)":
            out.reshape(n, c, h, w)}


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 3), (5, 4, 2, 6)])
def test_spatial_forward_matches_reference(submission, reference, rng, shape):
    c = shape[1]
    x = rng.normal(size=shape) * rng.uniform(0.5, 3, size=(1, c, 1, 1)) + rng.normal(size=(1, c, 1, 1)) * 2
    gamma, beta, rm, rv = rng.normal(size=c), rng.normal(size=c), rng.normal(size=c), rng.uniform(0.5, 2, size=c)
    for train in (True, False):
        got = submission.spatial_batchnorm_forward(x, gamma, beta, rm, rv, train, 0.8, 1e-4)
        expected = reference.spatial_batchnorm_forward(x, gamma, beta, rm, rv, train, 0.8, 1e-4)
        mode = "training" if train else "test"
        assert_close(got[0], expected[0], name=f"out ({mode})",
                     hints=channel_hint(x, gamma, beta, 1e-4) if train else None)
        assert_close(got[1], expected[1], name=f"running_mean ({mode})")
        assert_close(got[2], expected[2], name=f"running_var ({mode})")


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 2, 1, 2)])
def test_spatial_backward_matches_reference(submission, reference, rng, shape):
    c = shape[1]
    x, dout, gamma = rng.normal(size=shape) * 2 + 1, rng.normal(size=shape), rng.normal(size=c)
    got = submission.spatial_batchnorm_backward(dout, x, gamma, 1e-4)
    assert isinstance(got, tuple) and len(got) == 3, "spatial_batchnorm_backward must return (dx, dgamma, dbeta)"
    expected = reference.spatial_batchnorm_backward(dout, x, gamma, 1e-4)
    with assert_all() as check:
        for name, g, e in zip(("dx", "dgamma", "dbeta"), got, expected):
            check(assert_close, g, e, name=name, rtol=1e-5)


@pytest.mark.points(2)
def test_spatial_defaults(submission, reference, rng):
    x, dout, gamma = rng.normal(size=(2, 2, 3, 3)) * 0.01, rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    got = submission.spatial_batchnorm_forward(x, gamma, np.zeros(2), np.zeros(2), np.ones(2), True)
    expected = reference.spatial_batchnorm_forward(x, gamma, np.zeros(2), np.zeros(2), np.ones(2), True)
    with assert_all() as check:
        for name, g, e in zip(("out", "running_mean", "running_var"), got, expected):
            check(assert_close, g, e, name=f"{name} with the default momentum and eps")
    assert_close(submission.spatial_batchnorm_backward(dout, x, gamma)[0],
                 reference.spatial_batchnorm_backward(dout, x, gamma)[0], name="dx with the default eps", rtol=1e-5)
