"""Hidden tests for the network with batch norm inside: its loss, gradients and running statistics
against the reference on random sizes, its test mode, and training on held-out spirals, from a sensible
initialisation and from badly scaled ones."""

import numpy as np
import pytest

from grader.judge.checks import assert_accuracy, assert_all, assert_close, assert_params
from grader.judge.gradcheck import check_gradient, partial

KEYS = ("W1", "gamma", "beta", "W2", "b2")


def net(rng, n, d, h, c):
    """Random params (W1 on a scale of its own), running statistics, inputs and labels."""
    params = {"W1": rng.normal(size=(d, h)) * rng.uniform(0.2, 3), "gamma": rng.uniform(0.5, 1.5, size=h),
              "beta": rng.normal(size=h) * 0.5, "W2": rng.normal(size=(h, c)), "b2": rng.normal(size=c)}
    state = {"running_mean": rng.normal(size=h), "running_var": rng.uniform(0.5, 2.0, size=h)}
    X = rng.normal(size=(n, d)) * 2 + rng.normal(size=d)
    return params, state, X, rng.integers(0, c, size=n)


def contract(d, c):
    return {"W1": (d, "H"), "gamma": ("H",), "beta": ("H",), "W2": ("H", c), "b2": (c,)}


def w1_hints(params, X, y):
    """grads['W1'] as familiar slips give it: batch norm's backward skipped, or without its mean and
    variance paths."""
    a = X @ params["W1"]
    mean, std = a.mean(axis=0), np.sqrt(a.var(axis=0) + 1e-5)
    bn = params["gamma"] * (a - mean) / std + params["beta"]
    h = np.maximum(0.0, bn)
    scores = h @ params["W2"] + params["b2"]
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(y)), y] -= 1.0
    dbn = (probs / len(y)) @ params["W2"].T * (bn > 0)
    return {"grads['W1'] must come through batch norm: X.T @ the dx of batchnorm_backward, not X.T @ the "
            "gradient at batch norm's output": X.T @ dbn,
            "grads['W1'] needs batchnorm_backward's full dx, with the paths through the batch mean and "
            "variance, not only dout * gamma / std": X.T @ (dbn * params["gamma"] / std)}


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h,c", [(4, 2, 3, 2), (16, 5, 8, 3), (40, 12, 20, 10)])
def test_bn_net_loss_matches_reference(submission, reference, rng, n, d, h, c):
    params, state, X, y = net(rng, n, d, h, c)
    got = submission.bn_net_loss(params, state, X, y)
    assert isinstance(got, tuple) and len(got) == 3, \
        "bn_net_loss did not return 3 values. Hint: bn_net_loss must return (loss, grads, new_bn_state)"
    loss, grads, new_state = got
    ref_loss, ref_grads, ref_state = reference.bn_net_loss(params, state, X, y)
    running_loss = reference.softmax_loss(reference.bn_net_scores(params, state, X), y)[0]
    assert_close(loss, ref_loss, name="loss", dtype=None, hints={
        "in training, batch norm normalises with the batch's own statistics, not the running ones": running_loss})
    grads = assert_params(grads, {key: params[key].shape for key in KEYS}, "grads")
    with assert_all() as check:
        for key in KEYS:
            check(assert_close, grads[key], ref_grads[key], name=f"grads['{key}']", rtol=1e-5,
                  hints=w1_hints(params, X, y) if key == "W1" else None)
    new_state = assert_params(new_state, {"running_mean": (h,), "running_var": (h,)}, "new_bn_state")
    stale = "return the running statistics that batchnorm_forward gives back, not the ones passed in"
    assert_close(new_state["running_mean"], ref_state["running_mean"], name="new running_mean",
                 hints={stale: state["running_mean"]})
    assert_close(new_state["running_var"], ref_state["running_var"], name="new running_var",
                 hints={stale: state["running_var"]})


@pytest.mark.points(4)
def test_bn_net_gradient_check(submission, reference, rng):
    params, state, X, y = net(rng, 7, 4, 6, 3)
    _, grads, _ = submission.bn_net_loss(params, state, X, y)
    assert isinstance(grads, dict), "bn_net_loss's grads is not a dict. Hint: bn_net_loss must " \
        "return (loss, grads, new_bn_state) with grads a dict"
    expected = reference.bn_net_loss(params, state, X, y)[0]
    args = (params, state, X, y)
    with assert_all() as check:
        for key in KEYS:
            check(check_gradient, grads.get(key), partial(submission.bn_net_loss, args, 0, key, pick=0), params[key],
                  f"grads['{key}']", expected_value=expected, what="the loss of bn_net_loss()",
                  reference=partial(reference.bn_net_loss, args, 0, key, pick=0), batch_size=7,
                  hints=w1_hints(params, X, y) if key == "W1" else None)


@pytest.mark.points(2)
def test_bn_net_loss_momentum(submission, reference, rng):
    params, state, X, y = net(rng, 10, 3, 4, 2)
    got = submission.bn_net_loss(params, state, X, y, 0.5)[2]
    expected = reference.bn_net_loss(params, state, X, y, 0.5)[2]
    default = reference.bn_net_loss(params, state, X, y)[2]
    got = assert_params(got, {"running_mean": (4,), "running_var": (4,)}, "new_bn_state")
    with assert_all() as check:
        for key in ("running_mean", "running_var"):
            check(assert_close, got[key], expected[key], name=f"new {key} with momentum 0.5",
                  hints={"pass bn_net_loss's momentum on to batchnorm_forward": default[key]})


def batch_stats_hint(params, X):
    bn = batch_mode_bn(params, X)
    return {"at test time batch norm normalises with bn_state's running averages, not the batch's own "
            "statistics": np.maximum(0.0, bn) @ params["W2"] + params["b2"]}


def batch_mode_bn(params, X):
    a = X @ params["W1"]
    return params["gamma"] * (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + 1e-5) + params["beta"]


@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h,c", [(5, 3, 4, 2), (30, 8, 16, 5)])
def test_bn_net_scores_match_reference(submission, reference, rng, n, d, h, c):
    params, state, X, _ = net(rng, n, d, h, c)
    scores = submission.bn_net_scores(params, state, X)
    assert_close(scores, reference.bn_net_scores(params, state, X), name="scores at test time",
                 hints=batch_stats_hint(params, X))


@pytest.mark.points(2)
def test_bn_net_scores_one_example_at_a_time(submission, reference, rng):
    params, state, X, _ = net(rng, 6, 4, 5, 3)
    expected = reference.bn_net_scores(params, state, X)
    with assert_all() as check:
        for i in (0, 3):
            check(assert_close, submission.bn_net_scores(params, state, X[i:i + 1]), expected[i:i + 1],
                  name=f"scores of example {i} on its own",
                  advice="at test time an example's scores must not depend on the batch: normalise with the "
                         "running statistics")


def spiral(rng, n, classes=3):
    """n points of each of `classes` interleaved spiral arms in the plane, shuffled."""
    r = np.tile(np.linspace(0.05, 1.0, n), classes)
    labels = np.repeat(np.arange(classes), n)
    t = r * 4.5 + labels * 4.0 + rng.normal(0, 0.2, size=n * classes)
    order = rng.permutation(n * classes)
    return np.c_[r * np.sin(t), r * np.cos(t)][order], labels[order]


def trained(submission, X, y, w1_scale):
    params, bn_state, history = submission.train_bn_net(X, y, 3, 0.1, w1_scale, 7)
    params = assert_params(params, contract(2, 3), "train_bn_net's params", max_elements=100_000)
    width = params["gamma"].shape[0]
    bn_state = assert_params(bn_state, {"running_mean": (width,), "running_var": (width,)}, "train_bn_net's bn_state")
    return params, bn_state, history


# The reference trains in 0.1 to 0.3 s a call (64 hidden units, 40 epochs of 12 mini-batches), well
# within the step's call_seconds.


@pytest.mark.points(6)
def test_trained_network_on_held_out_spiral(submission, reference, rng, figures, measured):
    X, y = spiral(rng, 400)
    params, bn_state, history = trained(submission, X[:600], y[:600], 0.1)
    ref_history = reference.train_bn_net(X[:600], y[:600], 3, 0.1, 0.1, 7)[2]
    figures.curve("training loss of every mini-batch (spiral, learning rate 0.1)",
                  {"yours": history, "reference": ref_history}, x_label="mini-batch", y_label="loss")
    # The judge predicts with the reference's test mode on the student's trained numbers.
    predicted = reference.bn_net_scores(params, bn_state, X[600:]).argmax(axis=1)
    assert_accuracy(predicted, y[600:], at_least=0.85,
                    name="the trained network on 600 held-out points (test mode)",
                    measured=measured)


@pytest.mark.points(3)
def test_running_statistics_after_training(submission, rng, measured):
    X, y = spiral(rng, 200)
    params, bn_state, _ = trained(submission, X, y, 0.1)
    a = X @ params["W1"]  # what batch norm sees, with the trained W1, over all the training data
    mean_gap = np.abs(bn_state["running_mean"] - a.mean(axis=0)) / (a.std(axis=0) + 1e-8)
    var_ratio = bn_state["running_var"] / (a.var(axis=0) + 1e-8)
    measured.record("largest running_mean gap (in stds)", float(mean_gap.max()))
    measured.record("largest running_var ratio (yours / the data's)", float(np.exp(np.abs(np.log(var_ratio)).max())))
    if np.allclose(bn_state["running_mean"], 0.0) and np.allclose(bn_state["running_var"], 1.0):
        hint = ("train_bn_net returned the running statistics it started with (mean 0, variance 1): carry the "
                "new ones that bn_net_loss returns from each mini-batch to the next, and return the last ones")
    else:
        hint = ("the running statistics must follow each hidden feature's own mean and variance, averaged "
                "over the mini-batches and carried from each one to the next")
    # The reference's ratio stays within 1.2; running statistics never updated are off by a factor of 30 or more.
    assert mean_gap.max() < 0.3 and np.all(np.abs(np.log(var_ratio)) < 1.5), \
        f"after training, the running statistics are far from the mean and variance of X @ W1 over the " \
        f"training data (mean up to {mean_gap.max():.2f} stds away, variance off by a factor up to " \
        f"{np.exp(np.abs(np.log(var_ratio)).max()):.1f}). Hint: {hint}"


@pytest.mark.points(3)
@pytest.mark.parametrize("w1_scale", [100.0, 0.001])
def test_badly_scaled_w1_still_trains(submission, reference, rng, measured, w1_scale):
    X, y = spiral(rng, 400)
    params, bn_state, _ = trained(submission, X[:600], y[:600], w1_scale)
    predicted = reference.bn_net_scores(params, bn_state, X[600:]).argmax(axis=1)
    assert_accuracy(predicted, y[600:], at_least=0.85,
                    name="trained from a badly scaled W1, on 600 held-out points", measured=measured)


@pytest.mark.points(2)
def test_history_is_the_loss_of_every_mini_batch(submission, rng):
    X, y = spiral(rng, 100)
    _, _, history = submission.train_bn_net(X, y, 3, 0.1, 0.1, 3)
    history = np.asarray(history)
    assert history.ndim == 1 and history.size >= 10 and np.issubdtype(history.dtype, np.floating), \
        "history is not a 1-D float array of at least 10 losses. Hint: history must be a 1-D float array " \
        "with the loss of every mini-batch"
    assert np.all(np.isfinite(history)) and np.all(history > 0), \
        "history holds a loss that is not finite and positive. Hint: record the loss bn_net_loss returns"
    first, last = history[:5].mean(), history[-5:].mean()
    assert first > 0.8 and last < 0.7 * first, \
        f"history falls from {first:.3f} (mean of the first 5 mini-batches) to {last:.3f} (the last 5): " \
        "Hint: history must record the loss of each mini-batch as training goes, and training must lower it"


@pytest.mark.points(2)
def test_learning_rate_zero_keeps_the_initial_network(submission, rng):
    X, y = rng.normal(size=(200, 6)), rng.integers(0, 4, size=200)
    params, _, _ = submission.train_bn_net(X, y, 4, 0.0, 0.2, 5)
    params = assert_params(params, contract(6, 4), "train_bn_net's params", max_elements=100_000)
    width = params["gamma"].shape[0]
    W1 = params["W1"]
    assert abs(W1.mean()) < 0.1 and 0.12 < W1.std() < 0.3, \
        f"with learning rate 0 the trained W1 is the initial one, and its entries have mean {W1.mean():.3f} " \
        f"and standard deviation {W1.std():.3f}. Hint: draw W1 from a normal distribution with mean 0 and " \
        "standard deviation w1_scale"
    with assert_all() as check:
        check(assert_close, params["gamma"], np.ones(width), name="gamma after training with learning rate 0",
              advice="gamma starts at ones")
        check(assert_close, params["beta"], np.zeros(width), name="beta after training with learning rate 0",
              advice="beta starts at zeros")
        check(assert_close, params["b2"], np.zeros(4), name="b2 after training with learning rate 0",
              advice="b2 starts at zeros")
