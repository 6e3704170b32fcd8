"""Hidden tests for the activations assignment: random shapes, kinks and extremes, initialiser
statistics, deep stacks compared with the reference; the 1-D network's loss, training steps and the
functions it approximates between its training points."""

import numpy as np
import pytest

from grader.judge.checks import CheckFailed, assert_all, assert_close, assert_params, assert_raises, assert_shape
from grader.judge.gradcheck import assert_gradient, check_gradient, numeric_gradient, partial

SHAPES = [(1,), (7,), (3, 4), (2, 3, 5), (50, 20)]
# Values straddling every kink, plus saturated ones.
EDGES = np.array([-800.0, -30.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 30.0, 800.0])


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_forward_matches_reference(submission, reference, rng, shape):
    x = rng.normal(size=shape) * 4
    assert_close(submission.sigmoid_forward(x), reference.sigmoid_forward(x), name="sigmoid")


@pytest.mark.points(2)
def test_sigmoid_forward_extremes(submission, reference):
    got = submission.sigmoid_forward(EDGES)
    assert_close(got, reference.sigmoid_forward(EDGES), name="sigmoid at large |x|", atol=1e-300,
                 hints={"sigmoid is 1 / (1 + exp(-x)), not 1 / (1 + exp(x))": reference.sigmoid_forward(-EDGES)})


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_sigmoid_backward_matches_reference(submission, reference, rng, shape):
    x, dout = rng.normal(size=shape) * 2, rng.normal(size=shape)
    wrong = dout * x * (1 - x)
    assert_close(submission.sigmoid_backward(dout, x), reference.sigmoid_backward(dout, x), name="dx",
                 hints={"sigmoid_backward receives the input x, not the sigmoid's output: "
                        "take s = sigmoid(x) first, then dout * s * (1 - s)": wrong})


@pytest.mark.points(2)
def test_sigmoid_backward_gradient_check(submission, reference, rng):
    x, dout = np.concatenate([rng.normal(size=10) * 3, EDGES[1:-1]]), rng.normal(size=17)
    dx = submission.sigmoid_backward(dout, x)
    assert_gradient(dx, numeric_gradient(reference.sigmoid_forward, x, dout), "dx")


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_tanh_forward_matches_reference(submission, reference, rng, shape):
    x = rng.normal(size=shape) * 3
    assert_close(submission.tanh_forward(x), reference.tanh_forward(x), name="tanh")


@pytest.mark.points(1)
def test_tanh_forward_extremes(submission, reference):
    assert_close(submission.tanh_forward(EDGES), reference.tanh_forward(EDGES), name="tanh at large |x|",
                 hints={"tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)) overflows for large |x|: "
                        "use np.tanh": np.where(np.abs(EDGES) > 700, np.nan, reference.tanh_forward(EDGES))})


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_tanh_backward_matches_reference(submission, reference, rng, shape):
    x, dout = rng.normal(size=shape) * 2, rng.normal(size=shape)
    assert_close(submission.tanh_backward(dout, x), reference.tanh_backward(dout, x), name="dx",
                 hints={"tanh_backward receives the input x: use 1 - tanh(x) ** 2, not 1 - x ** 2":
                        dout * (1 - x ** 2)})


@pytest.mark.points(2)
def test_tanh_backward_gradient_check(submission, reference, rng):
    x, dout = np.concatenate([rng.normal(size=10) * 2, EDGES[2:-2]]), rng.normal(size=15)
    assert_gradient(submission.tanh_backward(dout, x), numeric_gradient(reference.tanh_forward, x, dout), "dx")


@pytest.mark.points(2)
def test_relu_on_edges(submission, reference, rng):
    dout = rng.normal(size=EDGES.shape)
    assert_close(submission.relu_forward(EDGES), reference.relu_forward(EDGES), name="relu")
    assert_close(submission.relu_backward(dout, EDGES), reference.relu_backward(dout, EDGES),
                 name="relu_backward", hints={"the gradient at x = 0 must be 0 (use x > 0)": dout * (EDGES >= 0)})


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES[2:])
def test_relu_matches_reference(submission, reference, rng, shape):
    x, dout = rng.normal(size=shape), rng.normal(size=shape)
    assert_close(submission.relu_forward(x), reference.relu_forward(x), name="relu")
    assert_close(submission.relu_backward(dout, x), reference.relu_backward(dout, x), name="relu_backward")


@pytest.mark.points(2)
@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.3])
def test_leaky_relu_forward_matches_reference(submission, reference, rng, alpha):
    x = np.concatenate([rng.normal(size=12), EDGES])
    assert_close(submission.leaky_relu_forward(x, alpha), reference.leaky_relu_forward(x, alpha),
                 name=f"leaky relu (alpha={alpha})")


@pytest.mark.points(2)
@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.3])
def test_leaky_relu_backward_matches_reference(submission, reference, rng, alpha):
    x = np.concatenate([rng.normal(size=12), EDGES])
    dout = rng.normal(size=x.shape)
    expected = reference.leaky_relu_backward(dout, x, alpha)
    hints = {"negative inputs pass alpha * dout back, they are not cut to 0": dout * (x > 0),
             "at x = 0 the slope is alpha (the rule is x > 0)": np.where(x >= 0, dout, alpha * dout)}
    assert_close(submission.leaky_relu_backward(dout, x, alpha), expected, name=f"dx (alpha={alpha})",
                 hints=hints if alpha else None)


@pytest.mark.points(2)
def test_leaky_relu_default_alpha(submission, reference, rng):
    x, dout = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    assert_close(submission.leaky_relu_forward(x), reference.leaky_relu_forward(x), name="leaky relu "
                 "with the default alpha (0.01)")
    assert_close(submission.leaky_relu_backward(dout, x), reference.leaky_relu_backward(dout, x),
                 name="dx with the default alpha (0.01)")


@pytest.mark.points(2)
def test_leaky_relu_gradient_check(submission, reference, rng):
    x, dout = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    dx = submission.leaky_relu_backward(dout, x, 0.1)
    assert_gradient(dx, numeric_gradient(lambda v: reference.leaky_relu_forward(v, 0.1), x, dout), "dx")


INIT_STD = {"xavier": lambda i, o: np.sqrt(2 / (i + o)), "he": lambda i, o: np.sqrt(2 / i)}
# What a familiar slip gives instead, per initialiser.
INIT_WRONG = {
    "xavier": {"Xavier's variance is 2 / (fan_in + fan_out); 1 / fan_in is LeCun's": lambda i, o: np.sqrt(1 / i),
               "Xavier's variance is 2 / (fan_in + fan_out); 2 / fan_in is He's": lambda i, o: np.sqrt(2 / i),
               "the variance is 2 / (fan_in + fan_out); the std is its square root":
                   lambda i, o: 2 / (i + o),
               "the variance is 2 / (fan_in + fan_out), not 1 / (fan_in + fan_out)":
                   lambda i, o: np.sqrt(1 / (i + o))},
    "he": {"He's variance is 2 / fan_in, not 1 / fan_in": lambda i, o: np.sqrt(1 / i),
           "He's variance uses fan_in (the rows of W), not fan_out": lambda i, o: np.sqrt(2 / o),
           "the variance is 2 / fan_in; the std is its square root": lambda i, o: 2 / i},
}


@pytest.mark.points(3)
@pytest.mark.parametrize("kind", ["xavier", "he"])
@pytest.mark.parametrize("fan_in,fan_out", [(400, 100), (64, 900)])
def test_init_spread(submission, rng, kind, fan_in, fan_out):
    w = getattr(submission, f"{kind}_init")(fan_in, fan_out, int(rng.integers(1 << 30)))
    assert_shape(w, (fan_in, fan_out), name=f"{kind}_init")
    std, got = INIT_STD[kind](fan_in, fan_out), float(w.std())
    assert abs(w.mean()) < 5 * std / np.sqrt(w.size), \
        f"{kind}_init: mean {w.mean():.3g}, expected 0. Hint: {kind}_init's weights must be centred on 0"
    if abs(got - std) > 0.03 * std:
        hint = next((m for m, f in INIT_WRONG[kind].items() if abs(got - f(fan_in, fan_out)) < 0.03 * got),
                    "the spread of the weights does not follow the formula in the README")
        raise AssertionError(f"{kind}_init({fan_in}, {fan_out}): std {got:.4g}, expected {std:.4g}. "
                             f"Hint: {kind}_init's standard deviation is wrong: {hint}")


@pytest.mark.points(2)
@pytest.mark.parametrize("kind", ["xavier", "he"])
def test_init_is_normal(submission, kind):
    w = getattr(submission, f"{kind}_init")(200, 200, 7)
    beyond = float(np.mean(np.abs(w - w.mean()) > 2 * w.std()))
    # A normal puts 4.55% of its mass beyond 2 std; a uniform puts none there.
    assert 0.038 < beyond < 0.053, f"{kind}_init: {beyond:.2%} of the weights lie beyond 2 std; a normal " \
                                   "distribution has 4.6% there (draw with rng.normal, not rng.uniform)"


@pytest.mark.points(2)
@pytest.mark.parametrize("kind", ["xavier", "he"])
def test_init_follows_the_seed(submission, rng, kind):
    init = getattr(submission, f"{kind}_init")
    seed = int(rng.integers(1 << 30))
    first, again, other = init(20, 30, seed), init(20, 30, seed), init(20, 30, seed + 1)
    assert_shape(first, (20, 30), name=f"{kind}_init")
    assert np.array_equal(first, again), f"{kind}_init gave two different matrices for the same seed: " \
                                         "draw from np.random.default_rng(seed)"
    assert not np.array_equal(first, other), f"{kind}_init gave the same matrix for different seeds"


def stack(rng, sizes):
    weights = [rng.normal(size=(a, b)) for a, b in zip(sizes, sizes[1:])]
    return weights, [rng.normal(size=b) for b in sizes[1:]]


@pytest.mark.points(3)
@pytest.mark.parametrize("sizes", [(3, 4, 2), (5, 1, 6), (2, 6, 3, 4, 1), (4, 4, 4, 4, 4, 4)])
def test_collapse_linear_matches_reference(submission, reference, rng, sizes):
    weights, biases = stack(rng, sizes)
    got = submission.collapse_linear(weights, biases)
    assert isinstance(got, tuple) and len(got) == 2, "collapse_linear must return (W, b)"
    W, b = reference.collapse_linear(weights, biases)
    assert_close(got[0], W, name="W")
    summed = sum(biases) if len(set(sizes[1:])) == 1 else biases[-1]
    assert_close(got[1], b, name="b", hints={"an earlier bias also passes through the later layers' "
                                                 "weights: b = b_1 @ W_2 + b_2, and so on": summed,
                                             "the earlier biases are missing from b": biases[-1]})


@pytest.mark.points(2)
def test_collapse_linear_single_layer(submission, rng):
    w, c = rng.normal(size=(3, 5)), rng.normal(size=5)
    W, b = submission.collapse_linear([w], [c])
    assert_close(W, w, name="W of a one-layer stack")
    assert_close(b, c, name="b of a one-layer stack")


@pytest.mark.points(3)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("sizes", [(4, 3), (6, 8, 8, 8, 5), (3, 10, 2, 7)])
def test_layer_gradient_norms_match_reference(submission, reference, rng, activation, sizes):
    weights, _ = stack(rng, sizes)
    weights = [w / np.sqrt(w.shape[0]) for w in weights]
    x, dout = rng.normal(size=(9, sizes[0])), rng.normal(size=(9, sizes[-1]))
    expected = reference.layer_gradient_norms(x, weights, activation, dout)
    assert_close(submission.layer_gradient_norms(x, weights, activation, dout), expected, name="norms",
                 hints={"norms[0] belongs to the first layer: you listed them in backward order":
                        expected[::-1]})


@pytest.mark.points(3)
def test_layer_gradient_norms_gradient_check(submission, reference, rng):
    weights = [rng.normal(size=(3, 4)) * 0.7, rng.normal(size=(4, 3)) * 0.7]
    x, dout = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    norms = submission.layer_gradient_norms(x, weights, "tanh", dout)

    def output(w1, w2):
        return reference.tanh_forward(reference.tanh_forward(x @ w1) @ w2)

    numeric = [numeric_gradient(lambda v: output(v, weights[1]), weights[0], dout),
               numeric_gradient(lambda v: output(weights[0], v), weights[1], dout)]
    assert_close(norms, np.array([np.linalg.norm(g) for g in numeric]), name="norms", rtol=1e-5)


@pytest.mark.points(3)
def test_vanishing_sigmoid_versus_relu(submission, reference, rng):
    depth, width = 10, 48
    x, dout = rng.normal(size=(20, width)), rng.normal(size=(20, width))
    xavier = [reference.xavier_init(width, width, 100 + i) for i in range(depth)]
    he = [reference.he_init(width, width, 200 + i) for i in range(depth)]
    sig = submission.layer_gradient_norms(x, xavier, "sigmoid", dout)
    relu = submission.layer_gradient_norms(x, he, "relu", dout)
    assert_close(sig, reference.layer_gradient_norms(x, xavier, "sigmoid", dout), name="sigmoid norms")
    assert_close(relu, reference.layer_gradient_norms(x, he, "relu", dout), name="relu norms")
    assert sig[0] / sig[-1] < 1e-3 and 0.2 < relu[0] / relu[-1] < 5, \
        "through 10 layers, sigmoid gradients should vanish and He-initialised ReLU ones should not"


@pytest.mark.points(1)
def test_layer_gradient_norms_unknown_activation(submission, rng):
    x, w, dout = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), rng.normal(size=(2, 3))
    assert_raises("ValueError", submission.layer_gradient_norms, x, [w], "softplus", dout)


# The universal approximation experiment: a network with one hidden layer on a 1-D input.
NET_ACTIVATIONS = ["tanh", "relu", "linear"]
# Targets the fitted networks must approximate between their training points: (f, interval,
# activation, width, largest error allowed). The bump reaches 1.5, beyond what tanh can reach by itself.
TARGETS = {
    "sin on [-pi, pi]": (np.sin, (-np.pi, np.pi), "tanh", 32, 0.1),
    "a bump of height 1.5 on [-2, 2]": (lambda x: 1.5 * np.exp(-4 * x ** 2), (-2.0, 2.0), "tanh", 32, 0.12),
    "|x| on [-1, 1]": (np.abs, (-1.0, 1.0), "relu", 32, 0.15),
}


def net_params(rng, width, scale=1.0):
    return {"W1": rng.normal(size=(1, width)) * scale, "b1": rng.normal(size=width) * scale,
            "W2": rng.normal(size=(width, 1)), "b2": rng.normal(size=1)}


def params_of_width(params, width, name="fit_1d's params"):
    try:
        return assert_params(params, {"W1": (1, width), "b1": (width,), "W2": (width, 1), "b2": (1,)}, name)
    except CheckFailed as failure:
        if "NaN or infinite" not in str(failure):
            raise
        raise CheckFailed(f"{str(failure).split(' Hint:')[0]} Hint: the training diverged: check loss_1d's "
                          "gradients and the sign of each step, keep the non-linearity in the hidden layer, "
                          "and start from moderate weights") from None


def held_out_grid(low, high, n=64):
    """n training points on [low, high], and 999 points between them that training never sees."""
    return np.linspace(low, high, n), np.linspace(low, high, 1001)[1:-1]


@pytest.mark.points(2)
@pytest.mark.parametrize("activation", NET_ACTIVATIONS)
def test_predict_1d_matches_reference(submission, reference, rng, activation):
    params, x = net_params(rng, int(rng.integers(2, 12))), rng.normal(size=15) * 2
    expected = reference.predict_1d(params, x, activation)
    squashed = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0), "linear": lambda v: v}[activation](expected)
    no_f = reference.predict_1d(params, x, "linear")
    hints = {"the output layer is linear: apply the activation to the hidden layer only, not to "
             "h @ W2 + b2": squashed, "the hidden layer needs its non-linearity f(x W1 + b1)": no_f}
    assert_close(submission.predict_1d(params, x, activation), expected, name=f"y_hat ({activation})",
                 hints={m: v for m, v in hints.items() if not np.allclose(v, expected)})


@pytest.mark.points(3)
@pytest.mark.parametrize("activation", NET_ACTIVATIONS)
def test_loss_1d_matches_reference(submission, reference, rng, activation):
    width = int(rng.integers(2, 9))
    params, x = net_params(rng, width), rng.normal(size=20) * 2
    y = np.sin(x)
    loss, grads = reference.loss_1d(params, x, y, activation)
    got = submission.loss_1d(params, x, y, activation)
    assert isinstance(got, tuple) and len(got) == 2, "loss_1d must return (loss, grads)"
    got_grads = assert_params(got[1], {key: value.shape for key, value in params.items()}, "grads")
    with assert_all() as check:
        check(assert_close, got[0], loss, name="loss", dtype=None,
              hints={"the loss is the mean of the squared errors, not half of it": loss / 2})
        for key in params:
            check(assert_close, got_grads[key], grads[key], name=f"grads['{key}']",
                  hints={"d/dy_hat of (y_hat - y) ** 2 is 2 (y_hat - y): the 2 is missing": grads[key] / 2})


@pytest.mark.points(3)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_loss_1d_gradient_check(submission, reference, rng, activation):
    params, x = net_params(rng, 6, scale=0.8), rng.normal(size=12) * 1.5
    y = np.abs(x) - 0.5
    _, grads = submission.loss_1d(params, x, y, activation)
    expected = reference.loss_1d(params, x, y, activation)[0]
    with assert_all() as check:
        for key in params:
            check(check_gradient, grads[key], partial(submission.loss_1d, (params, x, y, activation), 0, key,
                                                      pick=0), params[key], f"grads['{key}']",
                  expected_value=expected, what="the loss of loss_1d()",
                  reference=partial(reference.loss_1d, (params, x, y, activation), 0, key, pick=0))


@pytest.mark.points(1)
def test_net_1d_unknown_activation(submission, rng):
    params, x = net_params(rng, 3), rng.normal(size=4)
    assert_raises("ValueError", submission.predict_1d, params, x, "softplus")
    assert_raises("ValueError", submission.loss_1d, params, x, np.sin(x), "softplus")


@pytest.mark.points(3)
@pytest.mark.parametrize("activation,momentum", [("tanh", 0.9), ("relu", 0.5), ("tanh", 0.0)])
def test_fit_1d_takes_momentum_steps(submission, reference, rng, activation, momentum):
    x, width, lr, seed = rng.uniform(-2, 2, size=30), 5, 0.05, int(rng.integers(1 << 30))
    y = np.sin(2 * x)
    start = params_of_width(submission.fit_1d(x, y, width, 0, lr, seed, activation, momentum)[0], width,
                            "fit_1d's params after 0 steps")
    own = submission.loss_1d(start, x, y, activation)
    right = reference.loss_1d(start, x, y, activation)
    try:
        assert isinstance(own, tuple) and len(own) == 2 and isinstance(own[1], dict)
        assert_close(own[0], right[0], name="loss", dtype=None)
        for key in start:
            assert_close(own[1].get(key), right[1][key], name=key)
    except (AssertionError, CheckFailed):
        raise AssertionError("fit_1d's steps cannot be checked while loss_1d is wrong. Hint: fix loss_1d first "
                             "(see test_loss_1d_matches_reference)") from None
    got = submission.fit_1d(x, y, width, 3, lr, seed, activation, momentum)
    assert isinstance(got, tuple) and len(got) == 2, "fit_1d must return (params, history)"
    params, history = params_of_width(got[0], width), got[1]
    expected, velocity, losses = dict(start), {key: 0.0 for key in start}, []
    for _ in range(3):
        loss, grads = reference.loss_1d(expected, x, y, activation)
        losses.append(loss)
        velocity = {key: momentum * velocity[key] - lr * grads[key] for key in start}
        expected = {key: expected[key] + velocity[key] for key in start}
    plain = dict(start)
    for _ in range(3):
        plain = {key: value - lr * reference.loss_1d(plain, x, y, activation)[1][key] for key, value in plain.items()}
    with assert_all() as check:
        check(assert_close, history, np.array(losses), name="history (the loss before each step)",
              hints={"history[i] is the loss before step i (the first entry is the starting loss)":
                     np.array([*losses[1:], reference.loss_1d(expected, x, y, activation)[0]])})
        for key in start:
            check(assert_close, params[key], expected[key], name=f"params['{key}'] after 3 steps", rtol=1e-5,
                  hints={"each step is v = momentum * v - lr * grads, then params += v (v starts at 0)":
                         plain[key]} if momentum else None)


@pytest.mark.points(2)
def test_fit_1d_follows_the_seed(submission, rng):
    x = np.linspace(-1, 1, 20)
    seed = int(rng.integers(1 << 30))
    first, again, other = (params_of_width(submission.fit_1d(x, x ** 2, 4, 0, 0.1, s)[0], 4)
                           for s in (seed, seed, seed + 1))
    assert all(np.array_equal(first[k], again[k]) for k in first), "fit_1d started from different params " \
        "for the same seed. Hint: draw the initial params from np.random.default_rng(seed)"
    assert not all(np.array_equal(first[k], other[k]) for k in first), "fit_1d started from the same params " \
        "for different seeds. Hint: draw the initial params from np.random.default_rng(seed)"
    assert np.unique(first["W1"]).size + np.unique(first["b1"]).size > 2, "all hidden units start alike. " \
        "Hint: units that start with the same weights all learn the same thing: draw W1 and b1 at random"


@pytest.mark.points(3)
@pytest.mark.parametrize("target", list(TARGETS))
def test_fit_1d_approximates(submission, reference, figures, measured, target):
    f, (low, high), activation, width, allowed = TARGETS[target]
    x, grid = held_out_grid(low, high)
    params, _ = submission.fit_1d(x, f(x), width, 2000, 0.02, 0, activation)
    params = params_of_width(params, width)
    predicted = reference.predict_1d(params, grid, activation)
    figures.curve(f"{target}: the target and your network ({width} {activation} units), between the "
                  "training points", {"target": f(grid), "yours": predicted}, x_label="grid point")
    error = measured.record("largest error between the training points",
                            float(np.max(np.abs(predicted - f(grid)))))
    assert error < allowed, f"{width} {activation} units trained 2000 steps (lr 0.02) miss {target} by up " \
                            f"to {error:.3f} between the training points; they should stay within {allowed}. " \
                            "Hint: check loss_1d's gradients, and spread the hidden units' bends (-b1 / W1) " \
                            "over the interval"


@pytest.mark.points(3)
def test_linear_network_is_the_least_squares_line(submission, reference, figures):
    x = np.linspace(-2.0, 3.0, 50)
    y = 1.5 * np.exp(-4 * x ** 2) + 0.3 * x
    params, _ = submission.fit_1d(x, y, 16, 1500, 0.002, 0, "linear")
    params = params_of_width(params, 16)
    W, b = reference.collapse_linear([params["W1"], params["W2"]], [params["b1"], params["b2"]])
    slope, intercept = np.polyfit(x, y, 1)
    figures.curve("a bump on a slope: the target and your linear network", {
        "target": y, "yours": reference.predict_1d(params, x, "linear")}, x_label="training point")
    assert_close(np.array([W[0, 0], b[0]]), np.array([slope, intercept]), rtol=1e-3, atol=1e-4,
                 name="your linear network collapsed to one line (slope, intercept)",
                 advice="without a non-linearity the network is one line however wide, and gradient "
                        "descent on the mean squared error should reach the least-squares line")


@pytest.mark.points(4)
def test_error_by_width_is_measured_on_the_grid(submission, reference, figures, measured):
    x, grid = held_out_grid(-np.pi, np.pi)
    widths = [1, 4, 32]
    errors = submission.error_by_width(x, np.sin(2 * x), grid, np.sin(2 * grid), widths, 2000, 0.02, 1)
    assert_shape(errors, (3,), name="errors")
    own, mse = [], []
    for width in widths:
        params = params_of_width(submission.fit_1d(x, np.sin(2 * x), width, 2000, 0.02, 1)[0], width)
        miss = reference.predict_1d(params, grid) - np.sin(2 * grid)
        own.append(measured.record(f"largest error of width {width}", float(np.max(np.abs(miss)))))
        mse.append(float(np.mean(miss ** 2)))
    figures.curve("sin(2x): the largest error between the training points, widths 1, 4 and 32",
                  {"yours": own}, x_label="width (1, 4, 32)")
    assert_close(errors, np.array(own), name="errors", rtol=1e-6, dtype=None,
                 hints={"errors[i] is the largest absolute error on the test points, not the mean squared "
                        "error": np.array(mse)},
                 advice="errors[i] is the largest |y_hat - y_test| of fit_1d's network of width widths[i]")
    assert own[0] > own[1] > own[2] and own[2] < 0.3, \
        f"largest errors {np.round(own, 3).tolist()} for widths 1, 4 and 32 on sin(2x): they should fall " \
        "as the width grows, below 0.3 at width 32. Hint: a wider network should fit better: spread the " \
        "hidden units' bends (-b1 / W1) over the interval so that each one is of use"
