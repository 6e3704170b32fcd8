"""Hidden tests for the optimisers assignment: update rules over many steps (AdaGrad and Adam with their
eps, bias correction, returned state and a quadratic bowl), schedules, L2 on random networks, dropout
statistics and modes, and ridge regression judged on held-out data."""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close, assert_shape
from grader.judge.gradcheck import assert_gradient, numeric_gradient

SHAPES = [(1,), (6,), (4, 3), (2, 3, 4)]


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES)
def test_sgd_step_matches_reference(submission, reference, rng, shape):
    w, dw, lr = rng.normal(size=shape), rng.normal(size=shape), float(rng.uniform(0.01, 1))
    assert_close(submission.sgd_step(w, dw, lr), reference.sgd_step(w, dw, lr), name="w",
                 hints={"step against the gradient: w - lr * dw": w + lr * dw})


def momentum_hints(w, dw, v, lr, mu):
    """What the familiar slips give for one step: (hints for w, hints for v)."""
    late = {"first update v = mu * v - lr * dw, then move w by the new v (you moved it by the old v)":
            w + v}
    flipped = {"the velocity is v = mu * v - lr * dw: it points downhill": -(mu * v - lr * dw)}
    return late, flipped


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_momentum_step_matches_reference(submission, reference, rng, shape):
    w, dw, v = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    lr, mu = float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.5, 0.99))
    got = submission.momentum_step(w, dw, v, lr, mu)
    assert isinstance(got, tuple) and len(got) == 2, "momentum_step must return (w, v)"
    w_hints, v_hints = momentum_hints(w, dw, v, lr, mu)
    ref_w, ref_v = reference.momentum_step(w, dw, v, lr, mu)
    assert_close(got[1], ref_v, name="v", hints=v_hints)
    assert_close(got[0], ref_w, name="w", hints=w_hints)


@pytest.mark.points(5)
@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_momentum_trajectory(submission, reference, rng, mu):
    w = ref_w = rng.normal(size=(3, 4))
    v = ref_v = np.zeros((3, 4))
    for step in range(8):
        dw = rng.normal(size=(3, 4))
        w_hints, v_hints = momentum_hints(w, dw, v, 0.05, mu)
        w, v = submission.momentum_step(w, dw, v, 0.05, mu)
        ref_w, ref_v = reference.momentum_step(ref_w, dw, ref_v, 0.05, mu)
        assert_close(v, ref_v, name=f"v after step {step + 1}", hints=v_hints)
        assert_close(w, ref_w, name=f"w after step {step + 1}", hints=w_hints)


@pytest.mark.points(2)
def test_momentum_default_mu(submission, reference, rng):
    w, dw, v = rng.normal(size=5), rng.normal(size=5), rng.normal(size=5)
    got_w, got_v = submission.momentum_step(w, dw, v, 0.1)
    ref_w, ref_v = reference.momentum_step(w, dw, v, 0.1)
    assert_close(got_v, ref_v, name="v with the default mu (0.9)")
    assert_close(got_w, ref_w, name="w with the default mu (0.9)")


@pytest.mark.points(1)
def test_momentum_without_momentum_is_sgd(submission, reference, rng):
    w, dw, v = rng.normal(size=5), rng.normal(size=5), rng.normal(size=5)
    got_w, _ = submission.momentum_step(w, dw, v, 0.2, 0.0)
    assert_close(got_w, reference.sgd_step(w, dw, 0.2), name="w with mu = 0 (should be an SGD step)")


SQUARES = "the cache adds up squared gradients: cache = cache + dw ** 2"
NO_EPS = "divide by sqrt(cache) + eps, not sqrt(cache): eps keeps the step finite where the cache is 0"
OLD_CACHE = "add dw ** 2 to the cache first, then divide by the root of the new cache"
NO_CORRECTION = "divide m by (1 - beta1 ** t) and v by (1 - beta2 ** t) before the step (bias correction)"
T_PLUS_ONE = "t is the number of this step, 1 on the first: correct with beta ** t, not beta ** (t + 1)"
CORRECTED_STATE = "return the moments m and v themselves; the bias-corrected m_hat and v_hat are only for the step"


def telling(hints, right):
    """The hints whose mistake gives a result far from the right one here (NaN counts as far): a slip
    that changes nothing for these inputs (eps beside large gradients) is no explanation of a failure."""
    return {message: wrong for message, wrong in hints.items() if not np.allclose(wrong, right, rtol=1e-4)}


def adagrad_hints(w, dw, cache, lr, eps):
    """What the familiar AdaGrad slips give for one step: (hints for w, hints for cache)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w_hints = {NO_EPS: w - lr * dw / np.sqrt(cache + dw ** 2),
                   SQUARES: w - lr * dw / (np.sqrt(cache + dw) + eps),
                   OLD_CACHE: w - lr * dw / (np.sqrt(cache) + eps)}
    return w_hints, {SQUARES: cache + dw}


def check_adagrad(check, got, w, dw, cache, lr, eps, reference, when=""):
    """Check one adagrad_step result `got` against the reference's, cache first (its mistakes explain w's)."""
    assert isinstance(got, tuple) and len(got) == 2, "adagrad_step must return (w, cache)"
    w_hints, cache_hints = adagrad_hints(w, dw, cache, lr, eps)
    ref_w, ref_cache = reference.adagrad_step(w, dw, cache, lr, eps)
    check(assert_close, got[1], ref_cache, name=f"cache{when}", hints=cache_hints)
    check(assert_close, got[0], ref_w, name=f"w{when}", hints=telling(w_hints, ref_w))


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_adagrad_step_matches_reference(submission, reference, rng, shape):
    w, dw, cache = rng.normal(size=shape), rng.normal(size=shape), rng.uniform(0, 2, size=shape)
    lr = float(rng.uniform(0.01, 0.5))
    got = submission.adagrad_step(w, dw, cache, lr, 1e-8)
    with assert_all() as check:
        check_adagrad(check, got, w, dw, cache, lr, 1e-8, reference)


@pytest.mark.points(3)
def test_adagrad_trajectory(submission, reference, rng):
    w = ref_w = rng.normal(size=(3, 4))
    cache = ref_cache = np.zeros((3, 4))
    for step in range(8):
        dw = rng.normal(size=(3, 4))
        got = submission.adagrad_step(w, dw, cache, 0.1)
        with assert_all() as check:
            check_adagrad(check, got, ref_w, dw, ref_cache, 0.1, 1e-8, reference, f" after step {step + 1}")
        w, cache = got
        ref_w, ref_cache = reference.adagrad_step(ref_w, dw, ref_cache, 0.1)


@pytest.mark.points(2)
def test_adagrad_eps(submission, reference, rng):
    # From an empty cache, gradients of 0 (no move at all, and no NaN) and tiny ones (where the default eps
    # = 1e-8 shortens the step); then a large eps given explicitly.
    w = rng.normal(size=8)
    dw = np.where(np.arange(8) % 2 == 0, 0.0, rng.normal(size=8) * 10.0 ** rng.uniform(-10, -7, size=8))
    with assert_all() as check:
        check_adagrad(check, submission.adagrad_step(w, dw, np.zeros(8), 0.5), w, dw, np.zeros(8), 0.5, 1e-8,
                      reference, " with the default eps, zero and tiny gradients")
        dw, cache = rng.normal(size=8), rng.uniform(0, 1, size=8)
        check_adagrad(check, submission.adagrad_step(w, dw, cache, 0.5, 0.5), w, dw, cache, 0.5, 0.5,
                      reference, " with eps = 0.5")


@pytest.mark.points(1)
def test_adagrad_returns_its_new_cache(submission, reference, rng):
    w, dw, cache = rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2, size=6)
    got = submission.adagrad_step(w, dw, cache, 0.2)
    assert isinstance(got, tuple) and len(got) == 2, "adagrad_step must return (w, cache)"
    stale = "return the new cache (cache + dw ** 2), not the one passed in"
    assert_close(got[1], reference.adagrad_step(w, dw, cache, 0.2)[1], name="the cache returned",
                 hints={stale: cache, SQUARES: cache + dw})


def bowl(rng, d):
    """A badly conditioned quadratic bowl 0.5 * sum(a * (w - c) ** 2): (loss, gradient, a start)."""
    a, c = 10.0 ** rng.uniform(-1, 1, size=d), rng.normal(size=d)
    return (lambda w: 0.5 * float(np.sum(a * (w - c) ** 2))), (lambda w: a * (w - c)), c + rng.normal(size=d)


@pytest.mark.points(2)
def test_adagrad_minimises_a_bowl(submission, rng, measured):
    loss, grad, w = bowl(rng, 5)
    start, cache = loss(w), np.zeros(5)
    for _ in range(200):
        got = submission.adagrad_step(w, grad(w), cache, 0.5)
        assert isinstance(got, tuple) and len(got) == 2, "adagrad_step must return (w, cache)"
        w, cache = got
        assert_shape(w, (5,), name="w")
    final = measured.record("loss after 200 steps", loss(w))
    assert final < 1e-6 * start, f"200 AdaGrad steps (lr = 0.5) took the loss of a quadratic bowl from " \
                                 f"{start:.3g} to {final:.3g} only; they should get below {1e-6 * start:.3g}"


def adam_hints(w, dw, m, v, t, lr, beta1, beta2, eps):
    """What the familiar Adam slips give for one step: (hints for w, for m, for v)."""
    m, v = beta1 * m + (1 - beta1) * dw, beta2 * v + (1 - beta2) * dw ** 2
    w_hints = {NO_CORRECTION: w - lr * m / (np.sqrt(v) + eps),
               T_PLUS_ONE: w - lr * m / (1 - beta1 ** (t + 1)) / (np.sqrt(v / (1 - beta2 ** (t + 1))) + eps)}
    return w_hints, {CORRECTED_STATE: m / (1 - beta1 ** t)}, {CORRECTED_STATE: v / (1 - beta2 ** t)}


def check_adam(check, got, reference, w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, when=""):
    """Check one adam_step result `got` (w, m, v) against the reference's."""
    assert isinstance(got, tuple) and len(got) == 3, "adam_step must return (w, m, v)"
    w_hints, m_hints, v_hints = adam_hints(w, dw, m, v, t, lr, beta1, beta2, eps)
    ref_w, ref_m, ref_v = reference.adam_step(w, dw, m, v, t, lr, beta1, beta2, eps)
    check(assert_close, got[1], ref_m, name=f"m{when}", hints=m_hints)
    check(assert_close, got[2], ref_v, name=f"v{when}", hints=v_hints)
    check(assert_close, got[0], ref_w, name=f"w{when}", hints=telling(w_hints, ref_w))


@pytest.mark.points(1)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_adam_step_matches_reference(submission, reference, rng, shape):
    w, dw, m = rng.normal(size=shape), rng.normal(size=shape), 0.1 * rng.normal(size=shape)
    v, t = rng.uniform(0, 0.01, size=shape), int(rng.integers(1, 100))
    lr, beta1, beta2 = (float(rng.uniform(*bounds)) for bounds in ((0.001, 0.1), (0.8, 0.95), (0.99, 0.9999)))
    got = submission.adam_step(w, dw, m, v, t, lr, beta1, beta2, 1e-8)
    with assert_all() as check:
        check_adam(check, got, reference, w, dw, m, v, t, lr, beta1, beta2)


@pytest.mark.points(4)
def test_adam_trajectory(submission, reference, rng):
    w = ref_w = rng.normal(size=(3, 4))
    m = v = ref_m = ref_v = np.zeros((3, 4))
    for t in range(1, 11):
        dw = rng.normal(size=(3, 4))
        got = submission.adam_step(w, dw, m, v, t, 0.01)
        with assert_all() as check:
            check_adam(check, got, reference, ref_w, dw, ref_m, ref_v, t, 0.01, when=f" after step {t}")
        w, m, v = got
        ref_w, ref_m, ref_v = reference.adam_step(ref_w, dw, ref_m, ref_v, t, 0.01)


@pytest.mark.points(3)
def test_adam_first_step_is_bias_corrected(submission, rng):
    # With m = v = 0 and t = 1, m_hat = dw and v_hat = dw ** 2: every weight moves by lr * sign(dw) (to
    # within eps), however large or small its gradient. Uncorrected, it would move sqrt(10) times that.
    w, dw = rng.normal(size=10), rng.choice([-1, 1], size=10) * 10.0 ** rng.uniform(-2, 2, size=10)
    got = submission.adam_step(w, dw, np.zeros(10), np.zeros(10), 1, 0.01)
    assert isinstance(got, tuple) and len(got) == 3, "adam_step must return (w, m, v)"
    assert_shape(got[0], (10,), name="w")
    w_hints, _, _ = adam_hints(w, dw, np.zeros(10), np.zeros(10), 1, 0.01, 0.9, 0.999, 1e-8)
    assert_close(got[0] - w, -0.01 * np.sign(dw), name="the first step's move of w",
                 rtol=1e-5, hints={message: wrong - w for message, wrong in w_hints.items()})


@pytest.mark.points(1)
def test_adam_defaults(submission, reference, rng):
    # The default betas and eps: gradients from 1e-10 to 1 in size, so that eps = 1e-8 matters for some.
    w, dw = rng.normal(size=8), rng.normal(size=8) * 10.0 ** rng.uniform(-10, 0, size=8)
    m, v = rng.uniform(-0.2, 0.2, size=8) * dw, rng.uniform(0, 0.3, size=8) * dw ** 2
    with assert_all() as check:
        check_adam(check, submission.adam_step(w, dw, m, v, 3, 0.05), reference, w, dw, m, v, 3, 0.05,
                   when=" with the default beta1, beta2 and eps")


@pytest.mark.points(1)
def test_adam_returns_its_new_moments(submission, reference, rng):
    w, dw, m, v = rng.normal(size=6), rng.normal(size=6), 0.1 * rng.normal(size=6), rng.uniform(0, 0.01, size=6)
    got = submission.adam_step(w, dw, m, v, 5, 0.01)
    assert isinstance(got, tuple) and len(got) == 3, "adam_step must return (w, m, v)"
    _, ref_m, ref_v = reference.adam_step(w, dw, m, v, 5, 0.01)
    stale = "return the new moments, not the m and v passed in"
    with assert_all() as check:
        check(assert_close, got[1], ref_m, name="the m returned",
              hints={stale: m, CORRECTED_STATE: ref_m / (1 - 0.9 ** 5)})
        check(assert_close, got[2], ref_v, name="the v returned",
              hints={stale: v, CORRECTED_STATE: ref_v / (1 - 0.999 ** 5)})


@pytest.mark.points(2)
def test_adam_minimises_a_bowl(submission, rng, measured):
    loss, grad, w = bowl(rng, 5)
    start, m, v = loss(w), np.zeros(5), np.zeros(5)
    for t in range(1, 301):
        got = submission.adam_step(w, grad(w), m, v, t, 0.05)
        assert isinstance(got, tuple) and len(got) == 3, "adam_step must return (w, m, v)"
        w, m, v = got
        assert_shape(w, (5,), name="w")
    final = measured.record("loss after 300 steps", loss(w))
    assert final < 1e-6 * start, f"300 Adam steps (lr = 0.05) took the loss of a quadratic bowl from " \
                                 f"{start:.3g} to {final:.3g} only; they should get below {1e-6 * start:.3g}"


@pytest.mark.points(1)
@pytest.mark.parametrize("lr0,epoch,drop,every", [
    (0.1, 0, 0.5, 10), (0.1, 19, 0.5, 10), (0.1, 20, 0.5, 10), (1.0, 7, 0.1, 3),
    (0.3, 1, 0.9, 1), (0.05, 99, 0.5, 30)])
def test_step_decay_values(submission, reference, lr0, epoch, drop, every):
    assert_close(submission.step_decay(lr0, epoch, drop, every), reference.step_decay(lr0, epoch, drop, every),
                 name=f"step_decay({lr0}, {epoch}, {drop}, {every})",
                 hints={"drop only at whole multiples of `every`: use integer division epoch // every":
                        lr0 * drop ** (epoch / every)})


@pytest.mark.points(1)
def test_step_decay_defaults(submission, reference):
    for epoch in (0, 10, 35):
        assert_close(submission.step_decay(0.2, epoch), reference.step_decay(0.2, epoch),
                     name=f"step_decay(0.2, {epoch}) with the default drop and every")


def network(rng, sizes):
    params = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:]), 1):
        params[f"W{i}"], params[f"b{i}"] = rng.normal(size=(a, b)), rng.normal(size=b)
    return params


@pytest.mark.points(3)
@pytest.mark.parametrize("sizes", [(3, 2), (5, 7, 4), (2, 6, 6, 3)])
def test_l2_penalty_matches_reference(submission, reference, rng, sizes):
    params, reg = network(rng, sizes), float(rng.uniform(0.01, 1))
    loss, grads = submission.l2_penalty(params, reg)
    ref_loss, ref_grads = reference.l2_penalty(params, reg)
    everything = 0.5 * reg * sum(float(np.sum(p ** 2)) for p in params.values())
    assert_close(loss, ref_loss, name="loss", hints={
        "only the weight matrices (keys starting with W) are regularised, not the biases": everything,
        "the loss is 0.5 * reg * sum(W ** 2); did you drop the 0.5?": 2 * ref_loss})
    assert isinstance(grads, dict) and set(grads) == set(params), "grads must have the keys of params"
    for key in params:
        hints = {"a bias gets no L2 gradient (zeros)": reg * params[key]} if key.startswith("b") else \
            {"the gradient of 0.5 * reg * W ** 2 is reg * W, not 2 * reg * W": 2 * reg * params[key]}
        assert_close(grads[key], ref_grads[key], name=f"grads['{key}']", hints=hints)


@pytest.mark.points(2)
def test_l2_penalty_gradient_check(submission, reference, rng):
    params, reg = network(rng, (3, 4, 2)), 0.3
    _, grads = submission.l2_penalty(params, reg)
    for key in ("W1", "b2"):
        numeric = numeric_gradient(lambda v, k=key: reference.l2_penalty({**params, k: v}, reg)[0], params[key])
        assert_gradient(grads[key], numeric, f"grads['{key}']")


@pytest.mark.points(1)
def test_l2_penalty_without_reg(submission, rng):
    params = network(rng, (3, 4))
    loss, grads = submission.l2_penalty(params, 0.0)
    assert_close(loss, 0.0, name="loss with reg = 0")
    assert_close(grads["W1"], np.zeros((3, 4)), name="grads['W1'] with reg = 0")
    # ... and the same weights with reg > 0 cost something (a penalty that is always 0 must not pass;
    # its exact value is other tests' business)
    loss, _ = submission.l2_penalty(params, 0.3)
    is_number = isinstance(loss, (int, float, np.integer, np.floating)) and not isinstance(loss, bool)
    assert is_number and loss > 0, f"l2_penalty(params, 0.3) returned {loss!r}: with reg > 0 it is positive"


@pytest.mark.points(3)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(submission, rng, p):
    x = rng.normal(size=(300, 400))
    out, mask = submission.dropout_forward(x, p, True, int(rng.integers(1 << 30)))
    assert_shape(mask, x.shape, name="mask")
    assert_close(out, x * mask, name="out (should be x * mask)")
    values = np.unique(mask)
    if not np.all(np.isclose(values[:, None], [0.0, 1 / (1 - p)]).any(axis=1)):
        unscaled = "Scale the kept units by 1 / (1 - p) (inverted dropout)." if np.isclose(values.max(), 1) \
            else "Every entry is either 0 (dropped) or 1 / (1 - p) (kept)."
        raise AssertionError(f"mask holds {values[:4].tolist()}..., expected only 0 and 1 / (1 - p) = "
                             f"{1 / (1 - p):.4g}. Hint: dropout_forward's mask: {unscaled}")
    dropped = float(np.mean(mask == 0))
    tolerance = 6 * np.sqrt(p * (1 - p) / x.size)
    if abs(dropped - p) > tolerance:
        swapped = abs(dropped - (1 - p)) < tolerance
        swap = "p is the probability of dropping a unit, not of keeping it" if swapped else \
            "each unit is dropped with probability p"
        raise AssertionError(f"dropped {dropped:.2%} of the units with p = {p}. "
                             f"Hint: dropout_forward drops too many or too few units: {swap}.")


@pytest.mark.points(2)
def test_dropout_keeps_the_expected_value(submission, rng):
    x = np.full((200, 250), 2.0)
    out, _ = submission.dropout_forward(x, 0.6, True, int(rng.integers(1 << 30)))
    mean = float(np.mean(out))
    tolerance = 6 * 2.0 * np.sqrt(0.6 / 0.4 / x.size)
    # A mean of 2.0 * (1 - p) is the unscaled mask; other means have other causes.
    why = "; scale the kept units by 1 / (1 - p)" if abs(mean - 2.0 * 0.4) < tolerance else ""
    assert abs(mean - 2.0) < tolerance, \
        f"the mean output is {mean:.4g} for inputs all 2.0 with p = 0.6. " \
        f"Hint: dropout_forward's mean output is off: inverted dropout keeps the expected value{why}"


@pytest.mark.points(2)
def test_dropout_mask_per_element(submission, rng):
    x = np.ones((40, 300))
    _, mask = submission.dropout_forward(x, 0.5, True, int(rng.integers(1 << 30)))
    assert_shape(mask, x.shape, name="mask")
    same_rows = int(sum(np.array_equal(mask[0], row) for row in mask[1:]))
    same_cols = int(sum(np.array_equal(mask[:, 0], col) for col in mask.T[1:]))
    assert same_rows == 0 and same_cols < 5, \
        "the mask repeats across examples or features: draw one independent value per element of x"


@pytest.mark.points(2)
def test_dropout_follows_the_seed(submission, rng):
    x = rng.normal(size=(20, 30))
    seed = int(rng.integers(1 << 30))
    first, again, other = (submission.dropout_forward(x, 0.5, True, s)[1] for s in (seed, seed, seed + 1))
    assert_shape(first, x.shape, name="mask")
    assert np.array_equal(first, again), "two calls with the same seed dropped different units: " \
                                         "draw with np.random.default_rng(seed)"
    assert not np.array_equal(first, other), "different seeds dropped the same units"


@pytest.mark.points(2)
def test_dropout_without_dropping(submission, rng):
    x = rng.normal(size=(5, 7))
    out, mask = submission.dropout_forward(x, 0.0, True, 1)
    assert_close(out, x, name="out with p = 0 in training")
    assert_close(mask, np.ones_like(x), name="mask with p = 0")


@pytest.mark.points(3)
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_test_mode_is_identity(submission, rng, p):
    x = rng.normal(size=(6, 9))
    out, mask = submission.dropout_forward(x, p, False, int(rng.integers(1 << 30)))
    assert_close(out, x, name="out at test time", hints={
        "inverted dropout already scaled the kept units in training: at test time the layer is the identity":
            x * (1 - p),
        "at test time the layer is the identity: don't scale by 1 / (1 - p)": x / (1 - p)})
    assert mask is None, "at test time dropout_forward returns (x, None)"


@pytest.mark.points(2)
def test_dropout_backward_train(submission, rng):
    dout = rng.normal(size=(8, 5))
    mask = (rng.random((8, 5)) >= 0.3) / 0.7
    assert_close(submission.dropout_backward(dout, mask, True), dout * mask, name="dx in training",
                 hints={"the gradient goes through the same mask, scale included": dout * (mask > 0)})


@pytest.mark.points(2)
def test_dropout_backward_test_mode(submission, rng):
    dout = rng.normal(size=(8, 5))
    assert_close(submission.dropout_backward(dout, None, False), dout, name="dx at test time")


@pytest.mark.points(2)
def test_dropout_gradient_check(submission, rng):
    x, dout = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    seed = int(rng.integers(1 << 30))
    out, mask = submission.dropout_forward(x, 0.5, True, seed)
    dx = submission.dropout_backward(dout, mask, True)
    # Your mask is your own (seeded), so the forward is checked for what any mask must give first:
    # kept entries x / (1 - p), the others 0, some of each. Only then against your forward's gradient.
    assert_shape(out, x.shape, name="out")
    kept = out != 0
    assert kept.any() and not kept.all(), "dropout with p = 0.5 must drop some entries and keep others"
    assert_close(out[kept], x[kept] / 0.5, name="kept entries of out (x / (1 - p))")
    numeric = numeric_gradient(lambda v: submission.dropout_forward(v, 0.5, True, seed)[0], x, dout)
    assert_gradient(dx, numeric, "dx")


def regression(rng, n, d, noise=0.3):
    true_w = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    return X, X @ true_w + noise * rng.normal(size=n), true_w


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d,lr,mu,reg,steps", [(30, 4, 0.05, 0.9, 0.1, 40), (12, 20, 0.02, 0.5, 1.0, 25),
                                                 (60, 2, 0.1, 0.0, 0.0, 10)])
def test_fit_ridge_matches_reference(submission, reference, rng, n, d, lr, mu, reg, steps):
    X, y, _ = regression(rng, n, d)
    expected = reference.fit_ridge(X, y, lr, mu, reg, steps)
    without_reg = reference.fit_ridge(X, y, lr, mu, 0.0, steps)
    assert_close(submission.fit_ridge(X, y, lr, mu, reg, steps), expected, name="w", rtol=1e-7,
                 hints={"the L2 gradient reg * w is missing from the update": without_reg} if reg else None)


@pytest.mark.points(4)
def test_fit_ridge_on_held_out_data(submission, rng):
    X, y, true_w = regression(rng, 80, 25, noise=0.5)
    X_test = rng.normal(size=(2000, 25))
    y_test = X_test @ true_w  # stays on the judge's side
    w = submission.fit_ridge(X, y, 0.05, 0.9, 0.1, 400)
    assert_shape(w, (25,), name="w")
    mse = float(np.mean((X_test @ w - y_test) ** 2))
    baseline = float(np.mean(y_test ** 2))
    assert mse < 0.1 * baseline, f"held-out mean squared error {mse:.3g}; predicting 0 gives {baseline:.3g}: " \
                                 "the trained weights should do at least ten times better"
