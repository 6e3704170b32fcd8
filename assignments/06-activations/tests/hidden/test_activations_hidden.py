"""Hidden tests for the activations assignment: random shapes, kinks and extremes, initialiser
statistics, deep stacks compared with the reference."""

import numpy as np
import pytest

from grader.judge.checks import assert_close, assert_raises, assert_shape
from grader.judge.gradcheck import assert_gradient, numeric_gradient

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
