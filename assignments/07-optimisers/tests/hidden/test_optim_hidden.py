"""Hidden tests for the optimisers assignment: update rules over many steps (AdaGrad and Adam with their
eps, bias correction, returned state and a quadratic bowl), schedules, L2 on random networks, dropout
statistics and modes, ridge regression judged on held-out data, and a small network trained with a
schedule, L2 and dropout: its loss and gradients, its training step by step, and its curves overfitting
without regularisation and less with it."""

import numpy as np
import pytest

from grader.judge.checks import assert_all, assert_close, assert_params, assert_shape
from grader.judge.gradcheck import assert_gradient, check_gradient, numeric_gradient, partial

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
    numeric = numeric_gradient(partial(submission.dropout_forward, (x, 0.5, True, seed), 0, pick=0), x, dout)
    assert_gradient(dx, numeric, "dx")


def regression(rng, n, d, noise=0.3):
    true_w = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    return X, X @ true_w + noise * rng.normal(size=n), true_w


@pytest.mark.points(3)
@pytest.mark.parametrize("n,d,lr,mu,reg,steps", [(30, 4, 0.05, 0.9, 0.1, 40), (12, 20, 0.02, 0.5, 1.0, 25),
                                                 (60, 2, 0.1, 0.0, 0.0, 10)])
def test_fit_ridge_matches_reference(submission, reference, rng, measured, n, d, lr, mu, reg, steps):
    X, y, _ = regression(rng, n, d)
    expected = reference.fit_ridge(X, y, lr, mu, reg, steps)
    without_reg = reference.fit_ridge(X, y, lr, mu, 0.0, steps)
    w = submission.fit_ridge(X, y, lr, mu, reg, steps)
    assert_shape(w, (d,), name="w")
    measured.record(f"training loss after {steps} steps", 0.5 * float(np.mean((X @ w - y) ** 2))
                    + 0.5 * reg * float(np.sum(w ** 2)))
    assert_close(w, expected, name="w", rtol=1e-7,
                 hints={"the L2 gradient reg * w is missing from the update": without_reg} if reg else None)


@pytest.mark.points(4)
def test_fit_ridge_on_held_out_data(submission, rng, measured):
    X, y, true_w = regression(rng, 80, 25, noise=0.5)
    X_test = rng.normal(size=(2000, 25))
    y_test = X_test @ true_w  # stays on the judge's side
    w = submission.fit_ridge(X, y, 0.05, 0.9, 0.1, 400)
    assert_shape(w, (25,), name="w")
    measured.record("training mean squared error", float(np.mean((X @ w - y) ** 2)))
    mse = measured.record("held-out mean squared error", float(np.mean((X_test @ w - y_test) ** 2)))
    baseline = float(np.mean(y_test ** 2))
    assert mse < 0.1 * baseline, f"held-out mean squared error {mse:.3g}; predicting 0 gives {baseline:.3g}: " \
                                 "the trained weights should do at least ten times better"


# A small network trained with a schedule, L2 and dropout. The data: a smooth teacher 2 tanh(x . w) plus
# noise, few training rows for a network of 100 hidden units, so that it can learn the noise by heart.

PENALTY_LEFT_OUT = "the loss includes the L2 penalty: add l2_penalty(params, l2)'s loss to the data loss"
NO_DROPOUT_AT_TEST = "with train False dropout is off: dropout_forward(h, p, False, seed) gives h itself"
HELD_OUT_WITH_DROPOUT = "the held-out loss is measured with dropout off (train False) and without the penalty"
COMPOUNDED = "each epoch's rate is step_decay(lr0, epoch, drop, every), from lr0, not from the previous rate"
EPOCH_FROM_ONE = "epochs count from 0: the first epoch's rate is step_decay(lr0, 0, drop, every) = lr0"


def teacher(rng, n, d, m, noise=0.7):
    """(X, y, X_val, y_val): n training rows and m held-out rows of d features."""
    w = rng.normal(size=d) / np.sqrt(d)
    X, X_val = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    return X, 2 * np.tanh(X @ w) + noise * rng.normal(size=n), X_val, 2 * np.tanh(X_val @ w) + noise * rng.normal(size=m)


def small_net(rng, d, h):
    return {"W1": rng.normal(size=(d, h)) / np.sqrt(d), "b1": 0.1 * rng.normal(size=h),
            "W2": rng.normal(size=(h, 1)) / np.sqrt(h), "b2": 0.1 * rng.normal(size=1)}


def net_loss_hints(reference, params, X, y, l2, p, train, seed):
    """What the familiar slips give for the loss: the penalty left out, dropout applied at test time."""
    hints = {}
    if l2:
        hints[PENALTY_LEFT_OUT] = reference.net_loss(params, X, y, 0.0, p, train, seed)[0]
    if p and not train:
        hints[NO_DROPOUT_AT_TEST] = reference.net_loss(params, X, y, l2, p, True, seed)[0]
    return hints


@pytest.mark.points(2)
@pytest.mark.parametrize("l2,p,train", [(0.0, 0.0, True), (0.3, 0.0, True), (0.0, 0.5, True), (0.2, 0.4, False)])
def test_net_loss_matches_reference(submission, reference, rng, l2, p, train):
    X, y, _, _ = teacher(rng, 9, 4, 1)
    params, seed = small_net(rng, 4, 7), int(rng.integers(1 << 30))
    got = submission.net_loss(params, X, y, l2, p, train, seed)
    assert isinstance(got, tuple) and len(got) == 2, "net_loss must return (loss, grads)"
    ref_loss, ref_grads = reference.net_loss(params, X, y, l2, p, train, seed)
    assert_close(got[0], ref_loss, name="loss", dtype=None,
                 hints=net_loss_hints(reference, params, X, y, l2, p, train, seed))
    grads = assert_params(got[1], {"W1": (4, 7), "b1": (7,), "W2": (7, 1), "b2": (1,)}, name="grads")
    with assert_all() as check:
        for key in ("W1", "b1", "W2", "b2"):
            check(assert_close, grads[key], ref_grads[key], name=f"grads['{key}']")


@pytest.mark.points(1)
@pytest.mark.parametrize("key", ["W1", "b1", "W2"])
def test_net_loss_gradient_check(submission, reference, rng, key):
    # Dropout on (its mask is fixed by the seed) and an L2 penalty: the numerical gradient is the reference's.
    X, y, _, _ = teacher(rng, 8, 3, 1)
    params, seed = small_net(rng, 3, 5), int(rng.integers(1 << 30))
    got = submission.net_loss(params, X, y, 0.2, 0.3, True, seed)
    assert isinstance(got, tuple) and len(got) == 2, "net_loss must return (loss, grads)"
    grads = assert_params(got[1], {"W1": (3, 5), "b1": (5,), "W2": (5, 1), "b2": (1,)}, name="grads")
    check_gradient(grads[key], partial(submission.net_loss, (params, X, y, 0.2, 0.3, True, seed), 0, key, pick=0),
                   params[key], f"grads['{key}']", what="the loss of net_loss()",
                   expected_value=reference.net_loss(params, X, y, 0.2, 0.3, True, seed)[0],
                   reference=partial(reference.net_loss, (params, X, y, 0.2, 0.3, True, seed), 0, key, pick=0))


CURVES = ("train_loss", "val_loss", "lr")


def run_train(submission, data, **settings):
    """Train the submission's network; its params checked against their contract, its history as arrays."""
    got = submission.train(*data, **settings)
    assert isinstance(got, tuple) and len(got) == 2, "Hint: train must return (params, history)"
    params, history = got
    d, hidden = data[0].shape[1], settings["hidden"]
    params = assert_params(params, {"W1": (d, hidden), "b1": (hidden,), "W2": (hidden, 1), "b2": (1,)})
    assert isinstance(history, dict) and set(CURVES) <= set(history), \
        "Hint: history must be a dict with the keys 'train_loss', 'val_loss' and 'lr'"
    curves = {}
    for key in CURVES:
        try:
            curves[key] = np.asarray(history[key], dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(f"Hint: history['{key}'] must be a list of floats") from None
        assert curves[key].shape == (settings["epochs"],), \
            f"history['{key}'] has shape {curves[key].shape}. Hint: history['{key}'] holds one value per epoch"
    return params, curves


def reference_run(reference, data, **settings):
    params, history = reference.train(*data, **settings)
    return params, {key: np.asarray(history[key], dtype=float) for key in CURVES}


@pytest.mark.points(3)
def test_train_lr_follows_the_schedule(submission, reference, rng):
    data = teacher(rng, 10, 3, 20)
    settings = dict(hidden=6, epochs=23, lr0=0.05, drop=0.3, every=4, l2=0.0, dropout_p=0.0, seed=5)
    _, curves = run_train(submission, data, **settings)
    expected = np.array([reference.step_decay(0.05, epoch, 0.3, 4) for epoch in range(23)])
    compounded, rate = [], 0.05
    for epoch in range(23):
        rate = reference.step_decay(rate, epoch, 0.3, 4)
        compounded.append(rate)
    late = np.array([reference.step_decay(0.05, epoch + 1, 0.3, 4) for epoch in range(23)])
    assert_close(curves["lr"], expected, name="history['lr'] (lr0 = 0.05, drop = 0.3, every = 4)", rtol=1e-9,
                 hints={COMPOUNDED: np.array(compounded), EPOCH_FROM_ONE: late},
                 advice="epoch e trains with step_decay(lr0, e, drop, every) and records that rate")


@pytest.mark.points(3)
@pytest.mark.parametrize("l2,p", [(0.0, 0.0), (0.1, 0.0), (0.0, 0.5)])
def test_train_matches_reference(submission, reference, rng, l2, p):
    data = teacher(rng, 12, 5, 40)
    settings = dict(hidden=16, epochs=25, lr0=0.03, drop=0.5, every=10, l2=l2, dropout_p=p,
                    seed=int(rng.integers(1 << 20)))
    params, curves = run_train(submission, data, **settings)
    ref_params, ref_curves = reference_run(reference, data, **settings)
    # The rates first: with other rates every loss differs too, and only the schedule's hint would be right.
    assert_close(curves["lr"], ref_curves["lr"], name="history['lr']", rtol=1e-9,
                 advice="epoch e trains with step_decay(lr0, e, drop, every) and records that rate")
    with assert_all() as check:
        check(assert_close, curves["train_loss"], ref_curves["train_loss"], name="history['train_loss']",
              rtol=1e-6, advice="each epoch's loss is net_loss's at the params before that epoch's step, "
                                "with dropout on (seed + 1 + epoch) and the L2 penalty")
        check(assert_close, curves["val_loss"], ref_curves["val_loss"], name="history['val_loss']", rtol=1e-6,
              advice=HELD_OUT_WITH_DROPOUT + ", at the params after that epoch's step")
        for key in ("W1", "b1", "W2", "b2"):
            check(assert_close, params[key], ref_params[key], name=f"params['{key}'] after training", rtol=1e-6)


# The overfitting picture: 20 noisy training rows of 10 features, 100 hidden units, 200 epochs (about
# 0.1 s a run). How much a run overfits depends on its draw of data and weights (on the reference, over
# ten draws: the final held-out loss is at least 1.14 times its lowest, 1.43 on average; L2 0.1 ends at 0.68
# times the held-out loss of no regularisation on average, at worst 0.83; dropout 0.5 at 0.80, at worst
# 0.96), so each test trains on three data sets from its rng and judges the mean. On this assignment's seeds the reference's means are 1.27 (the
# test asks for more than 1.1), 0.77 for L2 (less than 0.85) and 0.84 for dropout (less than 0.92); a
# train that ignores l2 or dropout_p scores 1.0 on both.
BIG = dict(hidden=100, epochs=200, lr0=0.02, drop=0.5, every=50)
DRAWS = 3


def overfitting_data(rng):
    """DRAWS pairs (data, seed): noisy data sets of 20 training rows and the seeds to train them with."""
    return [(teacher(rng, 20, 10, 500, noise=1.0), int(rng.integers(1 << 20))) for _ in range(DRAWS)]


def curves_figure(figures, title, runs):
    """One figure of training and held-out curves: runs maps a label to a curves dict."""
    series = {}
    for label, curves in runs.items():
        series[f"{label}: training"] = curves["train_loss"]
        series[f"{label}: held-out"] = curves["val_loss"]
    figures.curve(title, series, x_label="epoch", y_label="loss")


def judged_losses(reference, params, data):
    """The trained network's data loss on the training and on the held-out rows, computed here from the
    params train returned (dropout off, no penalty): never the numbers it reported."""
    X, y, X_val, y_val = data
    return (reference.net_loss(params, X, y, 0.0, 0.0, False, 0)[0],
            reference.net_loss(params, X_val, y_val, 0.0, 0.0, False, 0)[0])


def check_reported(curves, val):
    """The last held-out loss train recorded must be the held-out loss of the params it returned."""
    assert np.isclose(curves["val_loss"][-1], val, rtol=1e-6, atol=1e-12), \
        f"the last held-out loss recorded ({curves['val_loss'][-1]:.6g}) is not the held-out loss of the " \
        f"params train returned ({val:.6g}). Hint: {HELD_OUT_WITH_DROPOUT}, at the params after each " \
        f"epoch's step"


@pytest.mark.points(4)
def test_overfitting_without_regularisation(submission, reference, rng, figures, measured):
    train, val, rise, best = [], [], [], []
    for number, (data, seed) in enumerate(overfitting_data(rng)):
        params, curves = run_train(submission, data, **BIG, l2=0.0, dropout_p=0.0, seed=seed)
        if number == 0:
            curves_figure(figures, "no regularisation: 20 training rows, 100 hidden units (first of three "
                                   "data sets)", {"yours": curves})
        final_train, final_val = judged_losses(reference, params, data)
        check_reported(curves, final_val)
        train.append(final_train)
        val.append(final_val)
        rise.append(final_val / curves["val_loss"].min())
        best.append(int(np.argmin(curves["val_loss"])))
    train, val = np.array(train), np.array(val)
    measured.record("final training loss (mean of 3 runs)", train.mean())
    measured.record("final held-out loss (mean of 3 runs)", val.mean())
    measured.record("final over lowest held-out loss (mean of 3 runs)", np.mean(rise))
    measured.record("latest epoch of a lowest held-out loss", max(best))
    assert np.all(train < 0.1 * val), \
        f"after 200 epochs without regularisation the final training losses are {np.round(train, 4).tolist()} " \
        f"and the held-out ones {np.round(val, 4).tolist()}: a network this large for 20 rows should fit them " \
        f"almost exactly (training loss below a tenth of the held-out one). Hint: check that each epoch " \
        f"steps every parameter with its gradient"
    assert max(best) < 100 and np.mean(rise) > 1.1, \
        f"the held-out loss is lowest at epochs {best} and ends {np.mean(rise):.3g} times that low on average: " \
        f"it should fall first and then rise while the network learns the noise of its training rows. Hint: " \
        f"{HELD_OUT_WITH_DROPOUT}, at the params after each epoch's step"


def regularised_runs(submission, reference, rng, figures, measured, label, **regularisation):
    """Train the submission with the regularisation and the reference without it on the same data sets:
    the final held-out loss of each (computed here from the params) as two arrays."""
    val, plain = [], []
    for number, (data, seed) in enumerate(overfitting_data(rng)):
        params, curves = run_train(submission, data, **BIG, **regularisation, seed=seed)
        ref_params, ref_curves = reference_run(reference, data, **BIG, l2=0.0, dropout_p=0.0, seed=seed)
        if number == 0:
            curves_figure(figures, f"{label} against no regularisation (first of three data sets)",
                          {f"yours, {label}": curves, "reference, none": ref_curves})
            measured.record("final training loss, first run", curves["train_loss"][-1])
        val.append(judged_losses(reference, params, data)[1])
        plain.append(judged_losses(reference, ref_params, data)[1])
        check_reported(curves, val[-1])
    measured.record("final held-out loss (mean of 3 runs)", np.mean(val))
    return np.array(val), np.array(plain)
@pytest.mark.points(4)
def test_l2_reduces_overfitting(submission, reference, rng, figures, measured):
    val, plain = regularised_runs(submission, reference, rng, figures, measured, "L2 0.1", l2=0.1, dropout_p=0.0)
    ratio = float(np.mean(val / plain))
    assert ratio < 0.85, \
        f"with L2 (l2 = 0.1) the final held-out loss is {ratio:.3g} times the one without regularisation on " \
        f"average; the penalty should bring it below 0.85 times. Hint: train passes l2 to net_loss, whose " \
        f"gradients include the penalty's reg * W"


@pytest.mark.points(3)
def test_dropout_reduces_overfitting(submission, reference, rng, figures, measured):
    val, plain = regularised_runs(submission, reference, rng, figures, measured, "dropout 0.5", l2=0.0,
                                  dropout_p=0.5)
    ratio = float(np.mean(val / plain))
    assert ratio < 0.92, \
        f"with dropout (p = 0.5) the final held-out loss is {ratio:.3g} times the one without regularisation " \
        f"on average; dropout should bring it below 0.92 times. Hint: dropout acts in training only (net_loss " \
        f"with train True and a new mask each epoch, seed + 1 + epoch); {HELD_OUT_WITH_DROPOUT}"
